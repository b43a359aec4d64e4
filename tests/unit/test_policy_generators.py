"""oslo.policy's command-line tools work for imgreg's namespace (entry points in pyproject.toml):
``oslopolicy-sample-generator`` (``oslo.policy.policies``) and ``oslopolicy-policy-generator``
(``oslo.policy.enforcer``), and ``etc/policy.yaml.sample`` is what the first one prints."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from imgreg.rules.policy import all_rules as list_rules

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DEFAULTS = {rule.name: rule.check_str for rule in list_rules()}


def run(tool: str, *args: str, cwd: Path) -> str:
    result = subprocess.run(
        [str(BIN / tool), *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def uncommented(sample: str) -> dict[str, str]:
    """The rules of a sample file (every one is commented out: ``#"name": "check"``)."""
    lines = [line[1:] for line in sample.splitlines() if line.startswith('#"')]
    return yaml.safe_load("\n".join(lines))


def test_the_rules_are_glance_secure_rbac_defaults():
    # the names Glance enforces for the operations imgreg has, nothing missing (the metadef
    # rules: tests/unit/test_metadef_policies.py)
    assert {name for name in DEFAULTS if "metadef" not in name} == {
        "context_is_admin", "default", "service_api", "add_image", "get_image", "get_images",
        "modify_image", "delete_image", "upload_image", "download_image", "deactivate",
        "reactivate", "publicize_image", "communitize_image", "add_member", "get_member",
        "get_members", "modify_member", "delete_member", "copy_image", "get_task", "get_tasks",
        "add_task", "modify_task", "tasks_api_access", "get_image_location",
        "set_image_location", "delete_image_location", "add_image_location",
        "fetch_image_location", "stores_info_detail", "download_from_store", "cache_list",
        "cache_image", "cache_delete", "cache_clean", "cache_prune", "list_cached_nodes",
    }  # fmt: skip
    assert DEFAULTS["delete_image_location"] == "role:admin"
    assert DEFAULTS["fetch_image_location"] == "rule:service_api"
    assert DEFAULTS["tasks_api_access"] == "role:admin"
    assert DEFAULTS["publicize_image"] == "role:admin"
    assert DEFAULTS["copy_image"] == "role:admin"
    for name in DEFAULTS:
        if name.startswith("cache_") or name == "list_cached_nodes":
            assert DEFAULTS[name] == "role:admin"
    assert DEFAULTS["add_image"].endswith("project_id:%(owner)s)")


def test_sample_generator_lists_every_rule_with_its_default(tmp_path: Path):
    out = run("oslopolicy-sample-generator", "--namespace", "imgreg", cwd=tmp_path)
    assert uncommented(out) == DEFAULTS
    for rule in list_rules():
        assert f'#"{rule.name}": "{rule.check_str}"' in out
        assert f"# {rule.description}" in out


def test_etc_policy_yaml_sample_is_up_to_date(tmp_path: Path):
    out = run("oslopolicy-sample-generator", "--namespace", "imgreg", cwd=tmp_path)
    assert (ROOT / "etc" / "policy.yaml.sample").read_text() == out
    # etc/imgreg-policy-generator.conf writes the same file
    target = tmp_path / "etc" / "policy.yaml.sample"
    target.parent.mkdir()
    conf = ROOT / "etc" / "imgreg-policy-generator.conf"
    run("oslopolicy-sample-generator", "--config-file", str(conf), cwd=tmp_path)
    assert target.read_text() == out


def test_policy_generator_prints_the_effective_policy(tmp_path: Path):
    out = run("oslopolicy-policy-generator", "--namespace", "imgreg", cwd=tmp_path)
    assert yaml.safe_load(out) == DEFAULTS


def test_policy_generator_merges_the_operators_policy_file(tmp_path: Path):
    (tmp_path / "policy.yaml").write_text('"modify_image": "role:admin"\n"custom": "role:x"\n')
    conf = tmp_path / "imgreg-api.conf"
    conf.write_text(f"[oslo_policy]\npolicy_file = {tmp_path / 'policy.yaml'}\n")
    out = run(
        "oslopolicy-policy-generator", "--namespace", "imgreg", "--config-file", str(conf),
        cwd=tmp_path,
    )  # fmt: skip
    assert yaml.safe_load(out) == {**DEFAULTS, "modify_image": "role:admin", "custom": "role:x"}
