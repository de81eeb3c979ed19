"""The fake Personalize's Domain dataset groups and recommenders (a mixin of
FakePersonalize, which holds the state, the clock and the methods used here).

What it refuses and the states it goes through, each from Personalize's pages:
- a Domain dataset group takes only datasets whose schema was created for its
  domain and holds the domain's required fields;
- a recommender exists only in a Domain dataset group, with a use case of that
  domain, and trains as it is created (CREATE PENDING > CREATE IN_PROGRESS >
  ACTIVE or CREATE FAILED), failing without enough interactions;
- UpdateRecommender needs an ACTIVE recommender and no update in progress; the
  recommender stays ACTIVE while ``latestRecommenderUpdate`` runs, and retrains
  when the update changes the training columns;
- ``modelMetrics`` is absent while the recommender is being created.
"""
from __future__ import annotations

import json
from typing import Any

# https://docs.aws.amazon.com/personalize/latest/dg/ECOMMERCE-datasets-and-schemas.html
# https://docs.aws.amazon.com/personalize/latest/dg/ECOMMERCE-interactions-dataset.html
# https://docs.aws.amazon.com/personalize/latest/dg/ECOMMERCE-items-dataset.html
# https://docs.aws.amazon.com/personalize/latest/dg/VIDEO-ON-DEMAND-datasets-and-schemas.html
# https://docs.aws.amazon.com/personalize/latest/dg/VIDEO-ON-DEMAND-items-dataset.html
# {domain: {dataset type: {field: (type, categorical)}}}
DOMAIN_FIELDS: dict[str, dict[str, dict[str, tuple[str, bool]]]] = {
    "ECOMMERCE": {
        "INTERACTIONS": {"USER_ID": ("string", False), "ITEM_ID": ("string", False), "TIMESTAMP": ("long", False),
                         "EVENT_TYPE": ("string", False)},
        "ITEMS": {"ITEM_ID": ("string", False), "PRICE": ("float", False), "CATEGORY_L1": ("string", True)},
        "USERS": {"USER_ID": ("string", False)},
    },
    "VIDEO_ON_DEMAND": {
        "INTERACTIONS": {"USER_ID": ("string", False), "ITEM_ID": ("string", False), "TIMESTAMP": ("long", False),
                         "EVENT_TYPE": ("string", False)},
        "ITEMS": {"ITEM_ID": ("string", False), "GENRES": ("string", True), "CREATION_TIMESTAMP": ("long", False)},
        "USERS": {"USER_ID": ("string", False)},
    },
}
# Use case recipes of each domain:
# https://docs.aws.amazon.com/personalize/latest/dg/ECOMMERCE-use-cases.html
# https://docs.aws.amazon.com/personalize/latest/dg/VIDEO_ON_DEMAND-use-cases.html
USE_CASE_PREFIX = {"ECOMMERCE": "aws-ecomm-", "VIDEO_ON_DEMAND": "aws-vod-"}
# https://docs.aws.amazon.com/personalize/latest/dg/limits.html: a recommender or a solution
# version needs 1,000 interactions and 25 users with at least 2 interactions each, who are
# at least 1% of all users.
MIN_INTERACTIONS = 1000
MIN_USERS_WITH_TWO = 25
MIN_SHARE_OF_USERS_WITH_TWO = 0.01


def users_with_two_problem(users_with_two: int, users: int) -> str | None:
    """Why the users with 2 or more interactions are too few to train on (None when enough)."""
    if users_with_two < MIN_USERS_WITH_TWO:
        return f"{users_with_two} users with at least 2 interactions (at least {MIN_USERS_WITH_TWO})"
    if users and users_with_two / users < MIN_SHARE_OF_USERS_WITH_TWO:
        return (f"{users_with_two} of {users} users with at least 2 interactions, under "
                f"{MIN_SHARE_OF_USERS_WITH_TWO:.0%} of the users")
    return None


class RecommenderApis:
    """CreateRecommender, DescribeRecommender, UpdateRecommender, ListRecommenders."""

    # ------------------------------------------------------- domain schemas
    def _domain_schema_problem(self, domain: str, dataset_type: str, schema: dict) -> str | None:
        fields = {f.get("name"): f for f in schema.get("fields", []) if isinstance(f, dict)}
        for name, (kind, categorical) in DOMAIN_FIELDS[domain].get(dataset_type, {}).items():
            found = fields.get(name)
            if found is None:
                return f"the {domain} {dataset_type} schema needs the field {name} ({kind})"
            if found.get("type") != kind or (categorical and not found.get("categorical")):
                return f"{name} must be a {'categorical ' if categorical else ''}{kind} field in a {domain} {dataset_type} schema"
        return None

    def _check_dataset_domain(self, group: Any, schema: Any, dataset_type: str) -> None:
        """CreateDataset: a Domain group takes schemas of its own domain only
        (https://docs.aws.amazon.com/personalize/latest/dg/API_CreateSchema.html: "If you are
        creating a schema for a dataset in a Domain dataset group, specify the domain")."""
        from .fake_personalize import FakeError

        domain = group.fields.get("domain")
        schema_domain = schema.fields.get("domain")
        if domain != schema_domain:
            raise FakeError("InvalidInputException", f"schema {schema.arn} was created for domain {schema_domain or 'none'}, "
                                                     f"the dataset group {group.arn} has domain {domain or 'none'}")
        if domain:
            problem = self._domain_schema_problem(domain, dataset_type, json.loads(schema.fields["schema"]))
            if problem:
                raise FakeError("InvalidInputException", f"schema {schema.arn}: {problem}")

    # ----------------------------------------------------------- recommenders
    def _train_recommender(self, recipe_arn: str, group_arn: str) -> tuple[dict | None, str | None]:
        """(metrics, failure reason)."""
        data = self._dataset_data(group_arn, "INTERACTIONS")
        rows, users_with_two, users = self._interaction_counts(data)
        problem = users_with_two_problem(users_with_two, users)
        if rows < MIN_INTERACTIONS or problem:
            return None, (f"Insufficient data to create a recommender: {rows} interactions (at least {MIN_INTERACTIONS}) and "
                          f"{problem or f'{users_with_two} users with at least 2 interactions'}")
        if self.trainer is None:
            return None, "no trainer is configured in the local Personalize"
        try:
            model = self.trainer(recipe_arn, "FULL", data, items_csv=self._dataset_data(group_arn, "ITEMS"),
                                 event_type=None, event_value_threshold=None)
        except Exception as exc:  # reported as Personalize reports a failed training
            return None, f"training failed: {exc}"
        return dict(model.metrics), None

    def _create_recommender(self, p: dict) -> dict:
        # https://docs.aws.amazon.com/personalize/latest/dg/API_CreateRecommender.html
        from .fake_personalize import FakeError

        group = self._require_active(p["datasetGroupArn"], "dataset_group")
        domain = group.fields.get("domain")
        if not domain:
            raise FakeError("InvalidInputException", f"dataset group {group.arn} is not a Domain dataset group: recommenders "
                                                     "are created in Domain dataset groups only")
        recipe = p["recipeArn"].rsplit("/", 1)[-1]
        if not recipe.startswith(USE_CASE_PREFIX[domain]):
            raise FakeError("InvalidInputException", f"recipe {p['recipeArn']} is not a use case of the {domain} domain")
        config = p.get("recommenderConfig") or {}
        if config.get("minRecommendationRequestsPerSecond", 1) < 1:
            # The model's minimum, checked here too for a request that skips the client's validation.
            raise FakeError("InvalidInputException", "recommenderConfig.minRecommendationRequestsPerSecond must be at least 1")
        if not any(r.kind == "dataset" and r.fields["datasetGroupArn"] == group.arn and r.fields["datasetType"] == "INTERACTIONS"
                   for r in self.resources.values()):
            raise FakeError("InvalidInputException", f"dataset group {group.arn} has no Item interactions dataset")
        arn = self._arn("recommender", p["name"])
        metrics, reason = self._train_recommender(p["recipeArn"], group.arn)
        res = self._new("recommender", arn, {
            "name": p["name"], "recommenderArn": arn, "datasetGroupArn": group.arn, "recipeArn": p["recipeArn"],
            # The default minRecommendationRequestsPerSecond is 1.
            "recommenderConfig": {"minRecommendationRequestsPerSecond": 1, **config},
        })
        if res.failure_reason is None:
            res.failure_reason = reason
        res.fields["_metrics"] = metrics
        return {"recommenderArn": arn}

    def _recommender_view(self, res: Any) -> dict:
        view = self._view(res)
        metrics = res.fields.get("_metrics")
        # "The modelMetrics key is null when the recommender is being created or deleted."
        if view.get("status") == "ACTIVE" and metrics is not None:
            view["modelMetrics"] = dict(metrics)
        return view

    def _describe_recommender(self, p: dict) -> dict:
        return {"recommender": self._recommender_view(self._get(p["recommenderArn"], "recommender"))}

    def _list_recommenders(self, p: dict) -> dict:
        out = []
        for res in self.of_kind("recommender"):
            if p.get("datasetGroupArn") in (None, res.fields["datasetGroupArn"]):
                v = self._view(res, record=False)
                out.append({k: v[k] for k in ("name", "recommenderArn", "datasetGroupArn", "recipeArn", "status",
                                              "creationDateTime", "lastUpdatedDateTime")})
        return {"recommenders": out}

    def _update_recommender(self, p: dict) -> dict:
        # https://docs.aws.amazon.com/personalize/latest/dg/API_UpdateRecommender.html: the
        # recommender keeps serving with its old configuration until the update completes;
        # changing the columns used in training starts a full retraining.
        from .fake_personalize import FakeError

        res = self._require_active(p["recommenderArn"], "recommender")
        if self._update_running(res):
            raise FakeError("ResourceInUseException", f"recommender {res.arn} has an update in progress")
        config = p["recommenderConfig"]
        if config.get("minRecommendationRequestsPerSecond", 1) < 1:
            raise FakeError("InvalidInputException", "recommenderConfig.minRecommendationRequestsPerSecond must be at least 1")
        new_config = {**res.fields["recommenderConfig"], **config}
        changes: dict[str, Any] = {"recommenderConfig": new_config}
        if new_config.get("trainingDataConfig") != res.fields["recommenderConfig"].get("trainingDataConfig"):
            metrics, reason = self._train_recommender(res.fields["recipeArn"], res.fields["datasetGroupArn"])
            if reason is None:
                changes["_metrics"] = metrics
            else:
                self._failures.setdefault("recommender_update", []).insert(0, reason)
        self._start_update(res, "recommender_update", changes)
        return {"recommenderArn": res.arn}

    def _recommender_update_summary(self, summary: dict, changes: dict) -> dict:
        """latestRecommenderUpdate: the configuration the update applies
        (https://docs.aws.amazon.com/personalize/latest/dg/API_RecommenderUpdateSummary.html)."""
        summary["recommenderConfig"] = changes["recommenderConfig"]
        return summary
