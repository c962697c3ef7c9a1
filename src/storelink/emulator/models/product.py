"""``product``, ``uom`` and taxes: templates with one variant each, pricelists, units.

Deleting a variant deletes its template when no other active variant is left
(``addons/product/models/product_product.py`` ``unlink``: the search for other
variants excludes only the variant itself, so variants of one template deleted
together keep their template); a template takes its variants with it and a
pricelist its rules (``ondelete='cascade'``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from storelink.emulator.models.base import default_company
from storelink.emulator.orm import Env
from storelink.emulator.registry import Registry
from storelink.emulator.schema import (
    Field,
    ModelSpec,
    Record,
    Unique,
    char,
    flag,
    m2m,
    m2o,
    num,
    o2m,
    select,
)

PRODUCT_WRITERS = (
    "sales_team.group_sale_manager",
    "stock.group_stock_manager",
    "point_of_sale.group_pos_manager",
    "base.group_system",
)
TYPES_16 = (("consu", "Consumable"), ("service", "Service"), ("product", "Storable Product"))
TYPES_18 = (("consu", "Goods"), ("service", "Service"), ("combo", "Combo"))


def _default_uom(env: Env) -> Any:
    for record in env.table("uom.uom").values():
        if record.get("name") == "Units":
            return record["id"]
    return False


def _product_display(env: Env, record: Record) -> str:
    name = env.value("product.product", record, "name") or ""
    code = env.value("product.product", record, "default_code")
    return f"[{code}] {name}" if code else str(name)


def _qty_available(env: Env, record: Record) -> float:
    from storelink.emulator.models.stock import on_hand

    return on_hand(env, [record["id"]])


def _variants(env: Env, template: Record) -> list[int]:
    return [r["id"] for r in env.referencing("product.product", "product_tmpl_id", template["id"])]


def _template_variant(env: Env, record: Record) -> Any:
    variants = _variants(env, record)
    return min(variants) if variants else False


def _template_qty(env: Env, record: Record) -> float:
    from storelink.emulator.models.stock import on_hand

    return on_hand(env, _variants(env, record))


def _tax_price_include(env: Env, record: Record) -> bool:
    return record.get("price_include_override") == "tax_included"


def install(registry: Registry) -> None:
    v = registry.version
    if v <= 18:
        registry.model(
            ModelSpec(
                "uom.category",
                "Product UoM Categories",
                "uom",
                {"name": char("Unit of Measure Category", required=True)},
                write_groups=("base.group_system",),
            )
        )
    uom_fields: dict[str, Field] = {
        "name": char("Unit of Measure", required=True),
        "active": flag("Active", default=True),
    }
    if v <= 18:
        # 19 dropped categories, uom_type and rounding for relative factors (uom saas~18.1)
        uom_fields["rounding"] = num("Rounding Precision", default=0.01)
        uom_fields["category_id"] = m2o("uom.category", "Category", required=True)
        uom_fields["factor"] = num("Ratio", default=1.0)
        uom_fields["uom_type"] = select(
            (("bigger", "Bigger"), ("reference", "Reference"), ("smaller", "Smaller")),
            "Type",
            default="reference",
        )
    else:
        uom_fields["relative_factor"] = num("Contains", default=1.0)
        uom_fields["relative_uom_id"] = m2o("uom.uom", "Reference Unit")
    registry.model(
        ModelSpec(
            "uom.uom",
            "Product Unit of Measure",
            "uom",
            uom_fields,
            order="name",
            write_groups=("base.group_system",),
        )
    )
    tax_fields: dict[str, Field] = {
        "name": char("Tax Name", required=True),
        "amount": num("Amount"),
        "amount_type": select(
            (
                ("group", "Group of Taxes"),
                ("fixed", "Fixed"),
                ("percent", "Percentage of Price"),
                ("division", "Percentage of Price Tax Included"),
            ),
            "Tax Computation",
            default="percent",
            required=True,
        ),
        "type_tax_use": select(
            (("sale", "Sales"), ("purchase", "Purchases"), ("none", "None")),
            "Tax Type",
            default="sale",
            required=True,
        ),
        "description": char("Label on Invoices"),
        "active": flag("Active", default=True),
        "company_id": m2o("res.company", "Company", default=default_company),
    }
    if v >= 18:
        tax_fields["price_include_override"] = select(
            (("tax_included", "Tax Included"), ("tax_excluded", "Tax Excluded")),
            "Included in Price",
        )
        tax_fields["price_include"] = Field(
            "boolean", "Included in Price", compute=_tax_price_include
        )
    else:
        tax_fields["price_include"] = flag("Included in Price")
    registry.model(
        ModelSpec(
            "account.tax",
            "Tax",
            "account",
            tax_fields,
            order="id",
            write_groups=("account.group_account_manager", "base.group_system"),
        )
    )
    registry.model(
        ModelSpec(
            "product.category",
            "Product Category",
            "product",
            {
                "name": char("Name", required=True),
                "parent_id": m2o("product.category", "Parent Category"),
            },
            order="name",
            parent_name="parent_id",
            write_groups=PRODUCT_WRITERS,
        )
    )
    template: dict[str, Field] = {
        "name": char("Name", required=True),
        "default_code": char("Internal Reference"),
        "barcode": char("Barcode"),
        "list_price": num("Sales Price", default=1.0),
        "standard_price": num("Cost"),
        "sale_ok": flag("Can be Sold", default=True),
        "purchase_ok": flag("Can be Purchased", default=True),
        "available_in_pos": flag("Available in POS"),
        "taxes_id": m2m("account.tax", "Customer Taxes"),
        "uom_id": m2o("uom.uom", "Unit of Measure", default=_default_uom, required=True),
        "categ_id": m2o("product.category", "Product Category", default=1),
        "active": flag("Active", default=True),
        "company_id": m2o("res.company", "Company"),
        "description_sale": Field("text", "Sales Description"),
        "product_variant_ids": o2m("product.product", "product_tmpl_id", "Products"),
        "product_variant_id": Field(
            "many2one", "Product", relation="product.product", compute=_template_variant
        ),
        "qty_available": Field("float", "Quantity On Hand", compute=_template_qty),
    }
    if v <= 18:
        template["uom_po_id"] = m2o("uom.uom", "Purchase Unit", default=_default_uom)
    if v <= 17:
        template["type"] = select(TYPES_16, "Product Type", default="consu", required=True)
        template["detailed_type"] = select(TYPES_16, "Product Type", default="consu", required=True)
    else:
        template["type"] = select(TYPES_18, "Product Type", default="consu", required=True)
        template["is_storable"] = flag("Track Inventory")
    registry.model(
        ModelSpec(
            "product.template",
            "Product",
            "product",
            template,
            order="name",
            unique=(Unique(("barcode",), "A barcode can only be assigned to one product !"),),
            write_groups=PRODUCT_WRITERS,
        )
    )
    registry.model(
        ModelSpec(
            "product.product",
            "Product Variant",
            "product",
            {
                "product_tmpl_id": m2o(
                    "product.template", "Product Template", required=True, ondelete="cascade"
                ),
                "active": flag("Active", default=True),
                "qty_available": Field("float", "Quantity On Hand", compute=_qty_available),
                "lst_price": Field(
                    "float",
                    "Sales Price",
                    compute=lambda env, r: env.value("product.product", r, "list_price"),
                ),
            },
            order="id",
            inherits=("product.template", "product_tmpl_id"),
            write_groups=PRODUCT_WRITERS,
            display=_product_display,
        )
    )
    registry.model(
        ModelSpec(
            "product.pricelist",
            "Pricelist",
            "product",
            {
                "name": char("Pricelist Name", required=True),
                "active": flag("Active", default=True),
                "currency_id": m2o("res.currency", "Currency", default=1),
                "company_id": m2o("res.company", "Company"),
                "item_ids": o2m("product.pricelist.item", "pricelist_id", "Pricelist Rules"),
            },
            order="name",
            write_groups=PRODUCT_WRITERS,
        )
    )
    registry.model(
        ModelSpec(
            "product.pricelist.item",
            "Pricelist Rule",
            "product",
            {
                "pricelist_id": m2o(
                    "product.pricelist", "Pricelist", required=True, ondelete="cascade"
                ),
                "applied_on": select(
                    (
                        ("3_global", "All Products"),
                        ("2_product_category", "Product Category"),
                        ("1_product", "Product"),
                        ("0_product_variant", "Product Variant"),
                    ),
                    "Apply On",
                    default="3_global",
                    required=True,
                ),
                "product_tmpl_id": m2o("product.template", "Product"),
                "product_id": m2o("product.product", "Product Variant"),
                "categ_id": m2o("product.category", "Product Category"),
                "compute_price": select(
                    (("fixed", "Fixed Price"), ("percentage", "Discount"), ("formula", "Formula")),
                    "Computation",
                    default="fixed",
                    required=True,
                ),
                "fixed_price": num("Fixed Price"),
                "percent_price": num("Percentage Price"),
                "min_quantity": num("Min. Quantity"),
                "date_start": Field("datetime", "Start Date"),
                "date_end": Field("datetime", "End Date"),
            },
            order="applied_on, min_quantity desc, categ_id desc, id desc",
            write_groups=PRODUCT_WRITERS,
        )
    )
    registry.on_create("product.template", _create_variant)
    registry.method("product.product", "unlink", unlink_variants, api_model=False)
    if v <= 17:
        registry.on_create("product.template", _sync_detailed_type)
        registry.on_write("product.template", _sync_detailed_type)


def unlink_variants(env: Env, model: str, ids: Sequence[int]) -> bool:
    """``product.product.unlink``: the variants, then templates left without one."""
    wanted = {int(i) for i in ids}
    templates = set()
    for product in env.browse(model, sorted(wanted)):
        # search([('product_tmpl_id', '=', …), ('id', '!=', product.id)]): active ones only
        others = [
            p
            for p in env.referencing(model, "product_tmpl_id", product["product_tmpl_id"])
            if p["id"] != product["id"] and p.get("active", True)
        ]
        if not others:
            templates.add(int(product["product_tmpl_id"]))
    env.unlink(model, sorted(wanted))
    if templates:
        env.unlink("product.template", sorted(templates))
    return True


def _create_variant(env: Env, model: str, ids: list[int], vals: dict[str, Any]) -> None:
    # every template gets its single variant, as Odoo does without attributes
    if not env.context.get("create_product_product", True):
        return
    for template_id in ids:
        if not env.referencing("product.product", "product_tmpl_id", template_id):
            env.sudo()._create_one("product.product", {"product_tmpl_id": template_id})


def _sync_detailed_type(env: Env, model: str, ids: list[int], vals: dict[str, Any]) -> None:
    # 16/17: ``type`` is computed from ``detailed_type``; writing either keeps both equal
    for template in env.browse("product.template", ids):
        if "detailed_type" in vals:
            template["type"] = template["detailed_type"]
        elif "type" in vals:
            template["detailed_type"] = template["type"]
