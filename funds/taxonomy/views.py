"""Funders and their return categories, our spend categories and item types, teams."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from funds.errors import FundsError, apply_to_form
from funds.extensions import db
from funds.grants.services import (
    add_funder_categories,
    create_funder,
    create_item_type,
    create_spend_category,
    create_team,
    set_funder_mapping,
    set_funder_reporting,
    set_item_active,
    update_spend_category_accounts,
)
from funds.models import DeliveryMethod, Funder, ItemType, SpendCategory
from funds.taxonomy.forms import (
    CategoriesForm,
    CategoryAccountsForm,
    FunderForm,
    ItemActiveForm,
    ItemForm,
    SpendCategoryForm,
    TeamForm,
    mapping_form,
    reporting_form,
    submitted_mapping,
)
from funds.taxonomy.queries import (
    categories_with_items,
    funders_with_counts,
    mapping_rows,
    teams_with_counts,
)

bp = Blueprint("taxonomy", __name__)


def _actor():
    return current_user._get_current_object()


# --- funders ----------------------------------------------------------------------------


@bp.route("/funders")
def funders():
    return render_template("taxonomy/funders.html", rows=funders_with_counts())


@bp.route("/funders/new", methods=["GET", "POST"])
def new_funder():
    form = FunderForm()
    if form.validate_on_submit():
        try:
            funder = create_funder(
                actor=_actor(),
                name=form.name.data,
                categories=form.category_list(),
                notes=form.notes.data,
                default_hsf_mapping=form.use_hsf.data,
            )
        except FundsError as error:
            db.session.rollback()
            apply_to_form(form, error)
            return render_template("taxonomy/new_funder.html", form=form), 422
        db.session.commit()
        flash(f"{funder.name} has been added", "success")
        return redirect(url_for("taxonomy.funder", funder_id=funder.id))
    status = 422 if form.errors else 200
    return render_template("taxonomy/new_funder.html", form=form), status


def _funder_page(
    funder_id: int, *, categories_form=None, mapping=None, reporting=None, status=200
):
    funder = db.get_or_404(Funder, funder_id)
    rows = mapping_rows(funder.id)
    if mapping is None:
        mapping = mapping_form(rows, funder.categories)
    if categories_form is None:
        categories_form = CategoriesForm(formdata=None)
    if reporting is None:
        reporting = reporting_form(funder)
    failed = next((f for f in (categories_form, mapping, reporting) if f.errors), None)
    return render_template(
        "taxonomy/funder.html",
        funder=funder,
        rows=rows,
        mapping=mapping,
        reporting=reporting,
        method_labels={m.value: m.label for m in DeliveryMethod},
        categories_form=categories_form,
        **({"form": failed} if failed is not None else {}),
    ), status


@bp.route("/funders/<int:funder_id>")
def funder(funder_id: int):
    return _funder_page(funder_id)


@bp.route("/funders/<int:funder_id>/categories", methods=["POST"])
def add_categories(funder_id: int):
    funder = db.get_or_404(Funder, funder_id)
    form = CategoriesForm()
    if form.validate_on_submit():
        try:
            added = add_funder_categories(
                funder, actor=_actor(), categories=form.categories.lines
            )
        except FundsError as error:
            db.session.rollback()
            apply_to_form(form, error)
        else:
            db.session.commit()
            flash(
                f"{len(added)} {'category' if len(added) == 1 else 'categories'} added",
                "success",
            )
            return redirect(url_for("taxonomy.funder", funder_id=funder_id))
    return _funder_page(funder_id, categories_form=form, status=422)


@bp.route("/funders/<int:funder_id>/mapping", methods=["POST"])
def mapping(funder_id: int):
    funder = db.get_or_404(Funder, funder_id)
    form = mapping_form(
        mapping_rows(funder.id), funder.categories, formdata=request.form
    )
    if form.validate_on_submit():
        try:
            changed = set_funder_mapping(
                funder, actor=_actor(), choices=submitted_mapping(form)
            )
        except FundsError as error:
            db.session.rollback()
            apply_to_form(form, error)
        else:
            db.session.commit()
            if changed:
                flash(
                    f"The mapping has been saved: {changed} "
                    f"{'item' if changed == 1 else 'items'} changed",
                    "success",
                )
            else:
                flash("Nothing was changed", "info")
            return redirect(url_for("taxonomy.funder", funder_id=funder_id))
    return _funder_page(funder_id, mapping=form, status=422)


@bp.route("/funders/<int:funder_id>/reporting", methods=["POST"])
def reporting(funder_id: int):
    funder = db.get_or_404(Funder, funder_id)
    form = reporting_form(funder, formdata=request.form)
    if form.validate_on_submit():
        try:
            set_funder_reporting(
                funder,
                actor=_actor(),
                group_order=form.group_order(),
                group_labels=form.group_labels(),
                delivery_routes=form.delivery_routes(),
                cash_first=form.cash_first.data,
            )
        except FundsError as error:
            db.session.rollback()
            apply_to_form(form, error)
        else:
            db.session.commit()
            flash("How returns report to this funder has been saved", "success")
            return redirect(
                url_for("taxonomy.funder", funder_id=funder_id) + "#reporting"
            )
    return _funder_page(funder_id, reporting=form, status=422)


# --- spend categories and items ----------------------------------------------------------


def _items_page(*, category_form=None, item_form=None, status=200, problem=None):
    if category_form is None:
        category_form = SpendCategoryForm(formdata=None)
    if item_form is None:
        item_form = ItemForm(formdata=None)
    failed = next((f for f in (category_form, item_form) if f.errors), None)
    return render_template(
        "taxonomy/items.html",
        categories=categories_with_items(),
        category_form=category_form,
        item_form=item_form,
        problem=problem,
        **({"form": failed} if failed is not None else {}),
    ), status


@bp.route("/items")
def items():
    return _items_page()


@bp.route("/items/categories", methods=["POST"])
def new_category():
    form = SpendCategoryForm()
    if form.validate_on_submit():
        try:
            category = create_spend_category(
                actor=_actor(), name=form.name.data, is_activity=form.is_activity.data
            )
        except FundsError as error:
            db.session.rollback()
            apply_to_form(form, error)
        else:
            db.session.commit()
            flash(f"The category {category.name} has been added", "success")
            return redirect(url_for("taxonomy.items") + f"#category-{category.id}")
    return _items_page(category_form=form, status=422)


@bp.route("/items/categories/<int:category_id>", methods=["GET", "POST"])
def edit_category(category_id: int):
    """The nominal code and tax rate the accounts post a category's spending to."""
    category = db.get_or_404(SpendCategory, category_id)
    if request.method == "GET":
        form = CategoryAccountsForm(
            data={"nominal_code": category.nominal_code, "tax_rate": category.tax_rate}
        )
    else:
        form = CategoryAccountsForm()
    status = 200
    if form.validate_on_submit():
        try:
            update_spend_category_accounts(
                category,
                actor=_actor(),
                nominal_code=form.nominal_code.data,
                tax_rate=form.tax_rate.data,
            )
        except FundsError as error:
            db.session.rollback()
            apply_to_form(form, error)
            status = 422
            category = db.get_or_404(SpendCategory, category_id)
        else:
            db.session.commit()
            flash(f"The accounts codes for {category.name} have been saved", "success")
            return redirect(url_for("taxonomy.items") + f"#category-{category.id}")
    elif form.errors:
        status = 422
    return render_template(
        "taxonomy/category.html", form=form, category=category
    ), status


@bp.route("/items", methods=["POST"])
def new_item():
    form = ItemForm()
    if form.validate_on_submit():
        try:
            item = create_item_type(
                actor=_actor(), category_id=form.category.data, name=form.name.data
            )
        except FundsError as error:
            db.session.rollback()
            apply_to_form(form, error)
        else:
            db.session.commit()
            flash(f"{item.name} has been added", "success")
            return redirect(url_for("taxonomy.items") + f"#category-{item.category_id}")
    return _items_page(item_form=form, status=422)


@bp.route("/items/<int:item_id>/active", methods=["POST"])
def item_active(item_id: int):
    item = db.get_or_404(ItemType, item_id)
    form = ItemActiveForm()
    if not form.validate_on_submit():
        return _items_page(
            status=422, problem="Choose whether to retire or restore the item"
        )
    active = form.active.data == "1"
    try:
        set_item_active(item, actor=_actor(), active=active)
    except FundsError as error:
        db.session.rollback()
        return _items_page(status=422, problem=error.message)
    db.session.commit()
    if active:
        flash(f"{item.name} can be chosen again", "success")
    else:
        flash(f"{item.name} has been retired: it stays on past awards", "success")
    return redirect(url_for("taxonomy.items") + f"#category-{item.category_id}")


# --- teams --------------------------------------------------------------------------------


def _teams_page(form=None, status=200):
    return render_template(
        "taxonomy/teams.html",
        teams=teams_with_counts(),
        form=TeamForm(formdata=None) if form is None else form,
    ), status


@bp.route("/teams")
def teams():
    return _teams_page()


@bp.route("/teams", methods=["POST"])
def new_team():
    form = TeamForm()
    if form.validate_on_submit():
        try:
            team = create_team(actor=_actor(), name=form.name.data)
        except FundsError as error:
            db.session.rollback()
            apply_to_form(form, error)
        else:
            db.session.commit()
            flash(f"{team.name} has been added", "success")
            return redirect(url_for("taxonomy.teams"))
    return _teams_page(form, status=422)
