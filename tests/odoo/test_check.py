"""``storelink odoo check`` against the emulator: ready, and each kind of not ready."""

from __future__ import annotations

import asyncio

import pytest

from storelink.cli import main
from tests.odoo.conftest import API_KEY, Emulated, emulator_module
from tests.services import free_port


async def run_check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = await asyncio.to_thread(main, ["odoo", "check", *args])
    out, err = capsys.readouterr()
    return code, out, err


def login(odoo: Emulated, user: str = "admin", password: str = "admin") -> list[str]:
    return ["--url", odoo.url, "--db", "storelink", "--user", user, "--password", password]


@pytest.mark.parametrize("version", ["16", "19"])
async def test_ready_report(version: str, capsys: pytest.CaptureFixture[str]) -> None:
    module = emulator_module()
    emu = module.OdooEmulator(version=version)
    async with module.serve_emulator(emu) as url:
        odoo = Emulated(emu, url, version)
        extra = ["--api-key", API_KEY] if version == "19" else []
        code, out, err = await run_check(capsys, *login(odoo), *extra)
    assert code == 0, err
    assert f"odoo: version {version} at {url}" in out
    assert f"protocol: {'json2' if version == '19' else 'jsonrpc'}" in out
    assert "point_of_sale" in out and "access: admin has every right" in out
    assert out.strip().endswith("ready")


async def test_wrong_password(odoo17: Emulated, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = await run_check(capsys, *login(odoo17, password="nope"))
    assert code == 1
    assert "problem: login: Odoo refused login 'admin' on database 'storelink'" in err


async def test_missing_module(odoo17: Emulated, capsys: pytest.CaptureFixture[str]) -> None:
    odoo17.emu.uninstall_module("point_of_sale")
    code, _, err = await run_check(capsys, *login(odoo17))
    assert code == 1
    assert "problem: module point_of_sale is not installed (needed for store sales" in err
    assert "module stock" not in err


async def test_user_without_stock_rights(
    odoo17: Emulated, capsys: pytest.CaptureFixture[str]
) -> None:
    everything_but_stock = [
        "base.group_user",
        "base.group_system",
        "base.group_partner_manager",
        "sales_team.group_sale_manager",
        "point_of_sale.group_pos_user",
        "account.group_account_invoice",
    ]
    odoo17.emu.add_user("clerk", "clerk-pw", everything_but_stock)
    code, _, err = await run_check(capsys, *login(odoo17, "clerk", "clerk-pw"))
    assert code == 1
    assert "problem: access: user clerk may not read stock.quant" in err
    assert "stock.quant - add the user to the group Inventory / Administrator" in err
    assert "may not read sale.order" not in err


async def test_unreachable_url(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    code, _, err = await run_check(
        capsys, "--url", url, "--db", "storelink", "--user", "admin", "--password", "admin"
    )
    assert code == 1
    assert f"problem: connection: cannot reach Odoo at {url}" in err


async def test_stock_moved_only_at_session_close_is_a_warning_not_a_problem(
    odoo17: Emulated, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = await run_check(capsys, *login(odoo17))  # 17's default: at closing
    assert code == 0
    assert "warning: " in out and "moves POS stock only when a session closes" in out
    odoo17.emu.call("res.company", "write", [1], {"point_of_sale_update_stock_quantities": "real"})
    code, out, _ = await run_check(capsys, *login(odoo17))
    assert code == 0 and "warning" not in out and "pos stock: moved as each order is paid" in out
