"""Rules a challenge states (such as "do not use torch's AdamW"), judged on the trusted side.

A rule is broken when the sandbox's tripwires reported a use at run time, or when the source
text names one of its forbidden names (parsed, never run). A broken rule fails every check it
gates, whatever that check found: values that torch computed for the submission earn nothing.
"""

from __future__ import annotations

from harness.challenge import Rule
from harness.report import CheckResult, CheckStatus, clip


def rule_breaches(rule: Rule, violations: list[tuple[str, str]], source: str) -> list[str]:
    """How the submission broke `rule`: run-time uses first, then lines of the source; empty when it did not."""
    from harness.testing import name_references

    found = [f"used at run time: {what}" for rule_id, what in violations if rule_id in (rule.id, "*")]
    if rule.source_names:  # only the names the author listed: a candidate may well call their own function `softplus`
        try:
            found += [f"named in the source: {hit}" for hit in name_references(source, set(rule.source_names))]
        except SyntaxError:
            pass
    return found


def apply_rules(rules: list[Rule], checks: list[CheckResult], violations: list[tuple[str, str]], source: str) -> list[str]:
    """Fail the checks each broken rule gates (in place); return one note per broken rule."""
    notes = []
    for rule in rules:
        breaches = rule_breaches(rule, violations, source)
        if not breaches:
            continue
        detail = "; ".join(dict.fromkeys(breaches))
        note, _ = clip(f"rule {rule.id!r} broken ({rule.description}): {detail}", 1000)
        notes.append(note)
        for index, check in enumerate(checks):
            if rule.gates and check.name not in rule.gates:
                continue
            message, truncated = clip(f"rule {rule.id!r} broken, so this check earns nothing: {rule.description} ({detail})")
            checks[index] = check.model_copy(update={"status": CheckStatus.failed, "points": 0.0, "message": message,
                                                     "truncated": truncated})
    return notes
