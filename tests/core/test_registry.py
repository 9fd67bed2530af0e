"""Tests of qsigner/registry.py: finding plugins and refusing broken ones at load time.

The broken plugins are tiny modules written to ``tmp_path`` by ``write_plugin`` (test-only).
"""

from __future__ import annotations

import textwrap
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest

import qsigner
from qsigner import registry
from qsigner.errors import PluginError, QsignerError

ROOT = Path(__file__).resolve().parents[2]

GOOD = '''
from typing import Any

class Coin:
    name = "mockcoin"
    networks = ("mainnet",)
    address_types = ("default",)

    def generate_keypair(self, *, network: str, entropy: bytes | None = None, **options: Any):
        return None

    def derive_address(self, key: str, index: int, *, network: str, change: bool = False,
                       **options: Any) -> str:
        return f"{key}/{index}"

    def sign_transaction(self, transaction, secret: str, *, network: str, **options: Any):
        return None

plugin = Coin()
'''


def write_plugin(tmp_path: Path, source: str, name: str = "mockcoin.py") -> Path:
    """TEST-ONLY: write a plugin module and return its path."""
    target = tmp_path / name
    target.write_text(textwrap.dedent(source))
    return target


def broken(replace: str, by: str) -> str:
    """Return the good mock plugin's source with one fragment replaced."""
    assert replace in GOOD
    return GOOD.replace(replace, by)


# ---- the installed plugin ------------------------------------------------------------------

def test_available_coins_lists_bitcoin() -> None:
    coins = qsigner.available_coins()
    assert "bitcoin" in coins and coins == sorted(coins)


def test_load_bitcoin_by_name() -> None:
    plugin = qsigner.load_coin("bitcoin")
    assert plugin.name == "bitcoin"
    assert isinstance(plugin, qsigner.CoinPlugin)


def test_load_bitcoin_by_path() -> None:
    path = ROOT / "coins" / "bitcoin"
    assert path.is_dir()
    plugin = qsigner.load_coin(str(path))
    assert plugin.name == "bitcoin"
    mnemonic = " ".join(["abandon"] * 11 + ["about"])
    assert plugin.derive_address(mnemonic, 0, network="mainnet") == \
        qsigner.load_coin("bitcoin").derive_address(mnemonic, 0, network="mainnet")


def test_load_good_mock_plugin(tmp_path: Path) -> None:
    plugin = qsigner.load_coin(str(write_plugin(tmp_path, GOOD)))
    assert plugin.name == "mockcoin"
    assert plugin.derive_address("k", 3, network="mainnet") == "k/3"


@pytest.mark.parametrize("name", ["nosuchcoin", "Bitcoin", "bitcoin2"])
def test_unknown_name(name: str) -> None:
    with pytest.raises(PluginError, match=f"plugin '{name}': no such coin installed") as info:
        qsigner.load_coin(name)
    assert info.value.plugin == name
    assert "bitcoin" in str(info.value)           # the message lists what is installed


@pytest.mark.parametrize("value", ["", None, 3])
def test_not_a_name(value: Any) -> None:
    with pytest.raises(PluginError, match="expected a coin name or a path"):
        qsigner.load_coin(value)


def test_missing_path(tmp_path: Path) -> None:
    target = tmp_path / "nothere"
    with pytest.raises(PluginError, match="no module at") as info:
        qsigner.load_coin(str(target) + "/")
    assert str(target) in str(info.value)


def test_entry_point_import_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = EntryPoint(name="ghostcoin", value="qsigner_no_such_module_xyz:plugin",
                      group=registry.ENTRY_POINT_GROUP)
    monkeypatch.setattr(registry, "entry_points", lambda group: [fake])
    assert qsigner.available_coins() == ["ghostcoin"]
    with pytest.raises(PluginError, match="plugin 'ghostcoin': import failed: ModuleNotFoundError"):
        qsigner.load_coin("ghostcoin")


# ---- broken plugins from a path --------------------------------------------------------------

BROKEN = [
    pytest.param(broken("    def sign_transaction(self, transaction, secret: str, *, network: str, "
                        "**options: Any):\n        return None\n", ""),
                 "sign_transaction", "is missing", id="missing-method"),
    pytest.param(broken("**options: Any) -> str:", ") -> str:"),
                 "derive_address", "must accept \\*\\*options", id="no-options"),
    pytest.param(broken("def generate_keypair(self, *, network: str, entropy",
                        "def generate_keypair(self, *, entropy"),
                 "generate_keypair", "lacks keyword parameter 'network'", id="no-network"),
    pytest.param(broken("def derive_address(self, key: str, index: int,",
                        "def derive_address(self, index: int, key: str,"),
                 "derive_address", "must take positional parameters", id="positional-order"),
    pytest.param(broken("sign_transaction(self, transaction, secret: str, *, network: str,",
                        "sign_transaction(self, transaction, *, network: str,"),
                 "sign_transaction", "must take positional parameters", id="no-secret"),
    pytest.param(broken('name = "mockcoin"', "name = 42"), "name", "must be a lower-case",
                 id="name-not-str"),
    pytest.param(broken('name = "mockcoin"', 'name = "MockCoin"'), "name", "must be a lower-case",
                 id="name-upper"),
    pytest.param(broken('networks = ("mainnet",)', "networks = ()"), "networks",
                 "non-empty tuple of strings", id="no-networks"),
    pytest.param(broken('address_types = ("default",)', 'address_types = ["default"]'),
                 "address_types", "non-empty tuple of strings", id="types-list"),
    pytest.param(broken("    def derive_address", "    derive_address = 5\n    def _unused"),
                 "derive_address", "is missing", id="not-callable"),
]


@pytest.mark.parametrize("source, method, problem", BROKEN)
def test_broken_plugin_names_plugin_and_method(tmp_path: Path, source: str, method: str,
                                               problem: str) -> None:
    path = write_plugin(tmp_path, source)
    with pytest.raises(PluginError, match=problem) as info:
        qsigner.load_coin(str(path))
    message = str(info.value)
    assert str(path) in message and f"'{method}'" in message
    assert info.value.plugin == str(path) and info.value.method == method


def test_signature_problem_shows_expected_and_actual(tmp_path: Path) -> None:
    path = write_plugin(tmp_path, broken("**options: Any) -> str:", ") -> str:"))
    with pytest.raises(PluginError) as info:
        qsigner.load_coin(str(path))
    message = str(info.value)
    assert "expected derive_address(key, index, *, network, change, **options)" in message
    assert "got derive_address(key: str, index: int, *, network: str, change: bool = False)" \
        in message


def test_no_plugin_attribute(tmp_path: Path) -> None:
    path = write_plugin(tmp_path, broken("plugin = Coin()", "coin = Coin()"))
    with pytest.raises(PluginError, match="module defines no 'plugin' object") as info:
        qsigner.load_coin(str(path))
    assert str(path) in str(info.value)


@pytest.mark.parametrize("source, error", [
    ("import qsigner_no_such_module_xyz\n", "ModuleNotFoundError"),
    ("def broken(:\n", "SyntaxError"),
    ("raise RuntimeError('boom at import')\n", "RuntimeError: boom at import"),
])
def test_import_error(tmp_path: Path, source: str, error: str) -> None:
    path = write_plugin(tmp_path, source)
    with pytest.raises(PluginError, match=f"import failed: {error}") as info:
        qsigner.load_coin(str(path))
    assert str(path) in str(info.value) and info.value.plugin == str(path)


def test_package_directory_without_init(tmp_path: Path) -> None:
    (tmp_path / "emptycoin").mkdir()
    with pytest.raises(PluginError, match="no module at"):
        qsigner.load_coin(str(tmp_path / "emptycoin"))


def test_check_plugin_directly() -> None:
    class NotAPlugin:
        name = "thing"
    with pytest.raises(PluginError, match="plugin 'label': attribute 'networks'"):
        registry.check_plugin(NotAPlugin(), "label")
    assert issubclass(PluginError, QsignerError)
