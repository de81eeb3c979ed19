"""The plan: what one run creates, named deterministically, built once by
params.build_plan and handed from state to state by the state machine.

These are TypedDicts, not classes, because the plan crosses every Lambda
boundary as JSON and the state machine reads it with JSONPath
(``$.plan.datasets``, ``$.plan.waits`` ...): a dict keeps that wire shape
exactly, and the types let every step read it by a declared key. A test checks
that a built plan has exactly the keys declared here.

Keys a plan may lack sit in a ``total=False`` base (not ``NotRequired``): the
test suites import this module under Python 3.9 too."""
from typing import Any, Dict, List, Optional, TypedDict


class DatasetGroupPlan(TypedDict):
    name: str
    arn: str
    kmsKeyArn: Optional[str]  # None for an AWS-owned key


class _DatasetPlanOptional(TypedDict, total=False):
    # From the export manifest, when it counted them; read_params moves the
    # counts to Plan.exportRows before the plan travels.
    rows: Optional[int]
    # From the manifest (imports.dataset_import): a carried delta is not imported;
    # a delta over the per-job size is imported as one job per file (dataParts).
    carried: bool
    carriedReason: str
    dataParts: List[str]


class DatasetPlan(_DatasetPlanOptional):
    key: str  # interactions | items | users
    type: str  # Personalize's dataset type: Interactions | Items | Users
    name: str
    arn: str
    schemaName: str  # carries a hash of the schema text, so a changed schema gets a new name
    schemaArn: str
    schema: str  # the Avro schema as JSON text
    dataLocation: str  # s3://bucket/prefix/ of the export's files
    importJobName: str
    importMode: str  # FULL | INCREMENTAL: the dataset's export mode


class SolutionPlan(TypedDict):
    key: str
    name: str
    arn: str
    recipeArn: str
    trainingMode: str  # FULL | UPDATE | AUTOTRAIN, resolved from the policy
    trainingPolicy: str  # the params' training_mode (follow_import or a mode)
    performAutoTraining: bool
    performHPO: bool
    eventType: Optional[str]
    solutionConfig: Optional[Dict[str, Any]]
    versionName: str


class CampaignPlan(TypedDict):
    key: str
    name: str
    arn: str
    solutionKey: str
    minProvisionedTPS: int
    campaignConfig: Optional[Dict[str, Any]]


class FilterPlan(TypedDict):
    key: str
    name: str
    arn: str
    expression: str


class EventTrackerPlan(TypedDict):
    name: str


class GatePlan(TypedDict):
    thresholds: Dict[str, float]
    compareWithServing: bool
    tolerance: float
    compareMetrics: List[str]


class WaitPlan(TypedDict):
    firstSeconds: int
    maxSeconds: int
    limitSeconds: int


class SolutionReadiness(TypedDict):
    key: str
    eventType: Optional[str]
    eventValueThreshold: Optional[Any]


class ReadinessRules(TypedDict):
    minInteractions: int
    solutions: List[SolutionReadiness]


class CleanupPlan(TypedDict):
    removeUnlisted: bool  # delete campaigns, filters and solutions the params no longer name (cleanup.py)


class SsmParameters(TypedDict):
    trackingIdParameter: str
    durationsParameter: str
    trainingDataParameter: str


class ParamsObject(TypedDict):
    bucket: str
    key: str
    versionId: Optional[str]


class RecommenderPlan(TypedDict):
    key: str
    name: str
    arn: str
    recipeArn: str  # a use case of the dataset group's domain
    recommenderConfig: Optional[Dict[str, Any]]


class BatchJobPlan(TypedDict):
    key: str
    kind: str  # batch_inference_job | batch_segment_job
    name: str  # carries the run id, so each run writes a job of its own
    arn: str
    solutionKey: str
    inputPath: str  # s3://.../batch/input/<job>/
    outputPath: str  # s3://.../batch/output/<run id>/<job>/
    numResults: Optional[int]
    filterArn: Optional[str]
    jobConfig: Optional[Dict[str, Any]]  # batchInferenceJobConfig
    themeItemNameField: Optional[str]  # THEME_GENERATION with this item name field


class _PlanDomainAndBatch(TypedDict):
    # Domain dataset groups and their recommenders; batch jobs after the gate
    # (recommenders.py, batch_jobs.py).
    domain: Optional[str]  # ECOMMERCE | VIDEO_ON_DEMAND, None for a custom group
    recommenders: List[RecommenderPlan]
    batchJobs: List[BatchJobPlan]


class DataDeletionPlan(TypedDict):
    jobName: str
    arn: str
    dataLocation: str  # the manifest's vanished_users.file
    users: int
    sinceRunId: Optional[str]


class _PlanSetByReadParams(TypedDict, total=False):
    # Set by read_params: the params object version this run read, and the
    # export's row counts per dataset (recorded with each deployed version).
    paramsObject: ParamsObject
    exportRows: Dict[str, Optional[int]]
    # The data deletion job removing the manifest's vanished users, when the
    # params opt in (delete_vanished_users) and the export lists any; else None.
    dataDeletion: Optional[DataDeletionPlan]


class Plan(_PlanSetByReadParams, _PlanDomainAndBatch):
    name: str
    runId: str
    manifestUri: str
    partition: str
    region: str
    account: str
    datasetGroup: DatasetGroupPlan
    datasets: List[DatasetPlan]
    solutions: List[SolutionPlan]
    campaigns: List[CampaignPlan]
    filters: List[FilterPlan]
    eventTracker: Optional[EventTrackerPlan]
    gate: GatePlan
    waits: Dict[str, WaitPlan]  # one per phase (params.WAIT_PHASES)
    readinessRules: ReadinessRules
    expected: Dict[str, int]  # observed durations of earlier runs, seconds by phase
    ssm: SsmParameters
    tags: Dict[str, str]
    cleanup: CleanupPlan
