"""/metrics keeps a bounded, meaningful set of operation labels."""

from __future__ import annotations

from observability.metrics import MAX_LABELS_PER_PRINCIPAL, MAX_OPERATION_LABELS, Metrics


def observe(metrics: Metrics, name: str, principal: str, outcome: str = "ok") -> None:
    metrics.observe(name, outcome, 0.01, 1, 0.001, principal)


def labels(metrics: Metrics) -> set[str]:
    return {
        sample.labels["operation"]
        for family in metrics.registry.collect()
        if family.name == "tags_graphql_requests"
        for sample in family.samples
    }


def test_a_principal_names_at_most_its_share() -> None:
    metrics = Metrics()
    names = [f"Junk{i}" for i in range(MAX_LABELS_PER_PRINCIPAL + 1)]
    for name in names:
        observe(metrics, name, "mallory")
    # The last name within the share keeps its label; the one after it does not.
    assert names[MAX_LABELS_PER_PRINCIPAL - 1] in labels(metrics)
    assert names[MAX_LABELS_PER_PRINCIPAL] not in labels(metrics)
    assert "other" in labels(metrics)
    # Other principals still name their operations.
    observe(metrics, "TagPicker", "alice")
    assert "TagPicker" in labels(metrics)


def test_junk_cannot_push_out_names_already_seen() -> None:
    metrics = Metrics()
    observe(metrics, "TagPicker", "alice")
    for i in range(MAX_OPERATION_LABELS * 2):
        observe(metrics, f"Junk{i}", f"mallory-{i}")
    observe(metrics, "TagPicker", "alice")
    assert metrics.label("TagPicker", "alice") == "TagPicker"
    assert len(labels(metrics)) <= MAX_OPERATION_LABELS + 1  # every name, plus "other"


def test_the_label_set_is_bounded_across_principals() -> None:
    metrics = Metrics()
    for i in range(MAX_OPERATION_LABELS):
        observe(metrics, f"Op{i}", f"user-{i}")
    assert f"Op{MAX_OPERATION_LABELS - 1}" in labels(metrics)  # just inside
    observe(metrics, "OneMore", "someone-new")
    assert "OneMore" not in labels(metrics)
    assert len(labels(metrics)) == MAX_OPERATION_LABELS + 1


def test_only_operations_that_ran_claim_a_label() -> None:
    metrics = Metrics()
    for outcome in ("rejected", "bad_request", "unauthenticated", "rate_limited"):
        observe(metrics, f"Refused_{outcome}", "mallory", outcome)
    assert labels(metrics) == {"other"}
    observe(metrics, "Failed", "alice", "error")
    assert "Failed" in labels(metrics)
    # Once known, a name is counted under its label whatever the outcome.
    observe(metrics, "Failed", "alice", "rejected")
    assert metrics.label("Failed", "mallory", "rejected") == "Failed"


def test_names_that_are_not_graphql_names_are_other() -> None:
    metrics = Metrics()
    assert metrics.label("x" * 65, "alice") == "other"
    assert metrics.label("x" * 64, "alice") == "x" * 64
    assert metrics.label(None, "alice") == "anonymous"
