"""The upload form on a record's page is the markup the GOV.UK macros write (it is drawn
in the template, as the macros cost more than the rest of the evidence panel)."""

from __future__ import annotations

import re

from funds.evidence.queries import panel
from funds.models import EvidenceKind
from tests.test_widgets import _same_markup

MACROS = """
{% from "govuk_frontend_jinja/components/file-upload/macro.html" import govukFileUpload %}
{% from "govuk_frontend_jinja/components/input/macro.html" import govukInput %}
{% from "govuk_frontend_jinja/components/button/macro.html" import govukButton %}
{{ govukFileUpload({
  'id': 'files',
  'name': 'files',
  'label': {'text': 'Attach receipts or invoices', 'classes': 'govuk-label--s'},
  'hint': {'text': 'PDF, JPEG or PNG photos, or Excel (.xlsx); up to ' ~ evidence.max_files
           ~ ' files at once. On a phone you can take a photo.'},
  'attributes': {'multiple': 'multiple', 'accept': evidence.accept},
}) }}
{{ govukInput({
  'id': 'description',
  'name': 'description',
  'label': {'text': 'What the files show (optional)'},
  'classes': 'govuk-!-width-two-thirds',
}) }}
{{ govukButton({'text': 'Attach files', 'classes': 'govuk-button--secondary',
                'preventDoubleClick': true}) }}
"""


def test_the_upload_form_is_what_the_macros_write(app, client, login, world):
    login(world.manager)
    page = client.get(f"/grants/{world.grant}").get_data(as_text=True)
    form = re.search(
        r'enctype="multipart/form-data" novalidate>\s*'
        r'<input type="hidden" name="csrf_token" value="[^"]*">(.*?)</form>',
        page,
        re.S,
    )
    assert form is not None
    drawn = re.sub(r"\{#.*?#\}", "", form.group(1), flags=re.S)
    with app.test_request_context("/"):
        evidence = panel(EvidenceKind.AGREEMENT, world.grant)
        expected = app.jinja_env.from_string(MACROS).render(evidence=evidence)
    assert _same_markup(drawn) == _same_markup(expected)
