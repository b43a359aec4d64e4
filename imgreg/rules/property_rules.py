"""Property protection rules in Glance's file format.

The file is INI. Each section name is a regular expression (matched with ``re.search``, as
Glance does) and must define ``create``, ``read``, ``update`` and ``delete``. In the ``roles``
format a value lists roles (``@`` anyone, ``!`` no one); in the ``policies`` format it names one
policy rule. The first section that matches a property decides; a property no section matches
is denied.
"""

from __future__ import annotations

import configparser
import re
from typing import TYPE_CHECKING

from imgreg.context import RequestContext

if TYPE_CHECKING:
    from imgreg.rules.policy import Policy

OPERATIONS = ("create", "read", "update", "delete")


class PropertyRulesError(Exception):
    """The protection file cannot be used; imgreg refuses to start."""


class PropertyRules:
    def __init__(self, path: str, rule_format: str, policy: Policy | None = None) -> None:
        self.rule_format = rule_format
        self.policy = policy
        parser = configparser.RawConfigParser()
        parser.optionxform = str  # type: ignore[assignment, method-assign]
        try:
            if not parser.read(path):
                raise PropertyRulesError(f"property protection file {path} cannot be read")
        except configparser.Error as exc:
            raise PropertyRulesError(f"property protection file {path}: {exc}") from exc
        self.rules: list[tuple[re.Pattern[str], dict[str, list[str]]]] = []
        for section in parser.sections():
            try:
                pattern = re.compile(section)
            except re.error as exc:
                raise PropertyRulesError(f"{path}: [{section}] is not a regex: {exc}") from exc
            ops = {}
            for op in OPERATIONS:
                if not parser.has_option(section, op):
                    raise PropertyRulesError(f"{path}: [{section}] does not define '{op}'")
                values = [v.strip() for v in parser.get(section, op).split(",") if v.strip()]
                self._check_values(path, section, op, values)
                ops[op] = values
            self.rules.append((pattern, ops))

    @classmethod
    def allow_all(cls) -> PropertyRules:
        """The rules in force when no protection file is configured."""
        rules = cls.__new__(cls)
        rules.rule_format = "roles"
        rules.policy = None
        rules.rules = [(re.compile(""), {op: ["@"] for op in OPERATIONS})]
        return rules

    def _check_values(self, path: str, section: str, op: str, values: list[str]) -> None:
        if ("@" in values or "!" in values) and len(values) > 1:
            raise PropertyRulesError(f"{path}: [{section}] {op}: '@' and '!' stand alone")
        if self.rule_format == "policies" and len(values) != 1:
            raise PropertyRulesError(f"{path}: [{section}] {op}: name exactly one policy rule")

    def allowed(self, ctx: RequestContext, name: str, op: str) -> bool:
        for pattern, ops in self.rules:
            if pattern.search(name):
                return self._permits(ctx, ops[op])
        return False

    def _permits(self, ctx: RequestContext, values: list[str]) -> bool:
        if values == ["@"]:
            return True
        if values == ["!"]:
            return False
        if self.rule_format == "policies":
            if self.policy is None:
                return False
            return self.policy.check(ctx, values[0], {})
        roles = {r.lower() for r in ctx.roles}
        return any(v.lower() in roles for v in values)
