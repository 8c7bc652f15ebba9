#!/usr/bin/env bash
# Build and vendor the front-end assets into static/ (and axe-core into
# tests/vendor/). The outputs are committed, so the app and its CI need no
# npm and no CDN; nothing is fetched at run time.
#
# Usage (from anywhere):  npm ci && npm run build
#                   or:   npm ci && scripts/vendor_assets.sh
#
# Versions are pinned in package.json / package-lock.json:
#   govuk-frontend 6.3.0 (matches govuk-frontend-jinja 4.1.0), sass 1.108.2,
#   axe-core 4.14.1.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

GOVUK_DIST="node_modules/govuk-frontend/dist/govuk"
AXE_JS="node_modules/axe-core/axe.min.js"
CSS_OUT="static/govuk/govuk-frontend.min.css"
JS_OUT="static/govuk/govuk-frontend.min.js"

fail() { echo "vendor_assets: $*" >&2; exit 1; }

[[ -d "$GOVUK_DIST" && -f "$AXE_JS" && -x node_modules/.bin/sass ]] \
  || fail "node_modules is missing or incomplete; run 'npm ci' first."

mkdir -p static/govuk tests/vendor

# 1. Compile GOV.UK Frontend without GOV.UK branding (assets/funds.scss):
#    Arial, no GDS Transport @font-face, no crest/crown images.
echo "vendor_assets: compiling assets/funds.scss -> $CSS_OUT"
npx --no-install sass --pkg-importer=node --style=compressed --no-source-map \
  --quiet-deps assets/funds.scss "$CSS_OUT"

# 2. GOV.UK Frontend JavaScript (an ES module: load with
#    <script type="module"> and call initAll()). We do not vendor the source
#    map, so drop the comment that points to it (avoids a 404 in dev tools).
echo "vendor_assets: copying govuk-frontend.min.js"
sed -e 's|//# sourceMappingURL=[^[:space:]]*$||' \
  "$GOVUK_DIST/govuk-frontend.min.js" > "$JS_OUT"

# 3. Images and fonts: we vendor NONE of dist/govuk/assets (crown icons,
#    crest, GDS Transport fonts, GOV.UK favicons and manifest are GOV.UK
#    branding). Our own icons live in static/img/. Remove anything stale.
rm -rf static/govuk/assets

# 4. Checks on the compiled CSS.
if grep -qi "GDS Transport" "$CSS_OUT"; then
  fail "$CSS_OUT mentions GDS Transport."
fi
if grep -qiE "\.woff2?|@font-face" "$CSS_OUT"; then
  fail "$CSS_OUT contains a font URL or @font-face."
fi
if grep -qiE "url\([^)]*(crest|crown|govuk-icon|govuk-logo|opengraph)" "$CSS_OUT"; then
  fail "$CSS_OUT references a GOV.UK crest/crown image."
fi
# Every url() must be a data: URI or resolve to a file under static/.
while IFS= read -r url; do
  [[ -z "$url" ]] && continue
  url="${url#url(}"; url="${url%)}"; url="${url//\"/}"; url="${url//\'/}"
  case "$url" in
    data:*) ;;
    /static/*)
      path="static/${url#/static/}"; path="${path%%[?#]*}"
      [[ -f "$path" ]] || fail "$CSS_OUT references $url but $path does not exist."
      ;;
    *) fail "$CSS_OUT references $url, which is not under /static/." ;;
  esac
done < <(grep -oE "url\([^)]*\)" "$CSS_OUT" || true)

# 5. axe-core for the accessibility tests (test-only; never served).
echo "vendor_assets: copying axe.min.js -> tests/vendor/"
cp "$AXE_JS" tests/vendor/axe.min.js

# 6. Licence notice: the govuk-frontend npm tarball ships no LICENSE file.
cat > static/govuk/LICENSE-NOTICE <<'NOTICE'
This directory contains files built from GOV.UK Frontend 6.3.0
(https://github.com/alphagov/govuk-frontend, npm package "govuk-frontend"):

  govuk-frontend.min.css  compiled from assets/funds.scss with GOV.UK
                          branding removed (Arial instead of GDS Transport,
                          no crown, crest or other GOV.UK images)
  govuk-frontend.min.js   copied from dist/govuk/ (source map comment removed)

GOV.UK Frontend's code is released under the MIT licence, reproduced below.
Its documentation is (c) Crown copyright, available under the Open Government
Licence v3.0. GOV.UK brand assets (the crown, the royal crest, the GDS
Transport typeface and the GOV.UK logotype) are not included and are not
covered by this licence.

The MIT License (MIT)

Copyright (c) 2018 Crown Copyright (Government Digital Service)

Permission is hereby granted, free of charge, to any person obtaining a copy of
this software and associated documentation files (the "Software"), to deal in
the Software without restriction, including without limitation the rights to
use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of
the Software, and to permit persons to whom the Software is furnished to do so,
subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS
FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR
COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER
IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN
CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
NOTICE

echo "vendor_assets: done"
ls -l "$CSS_OUT" "$JS_OUT" static/govuk/LICENSE-NOTICE tests/vendor/axe.min.js
