################################################################################
# CloudWatch dashboard: what Finalize publishes (lambda_src/personalize_pipeline/
# cloudwatch_metrics.py), the state machine's runs and the campaigns' traffic
################################################################################

locals {
  # One namespace per pipeline: the Finalize role may put metrics in it only.
  metrics_namespace = "PersonalizePipeline/${var.name}"

  create_dashboard = local.create && var.monitoring.dashboard

  # SEARCH over the pipeline's namespace with a metric's dimension set, so every
  # params name, solution, campaign, dataset and reason shows without listing them.
  # https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/search-expression-syntax.html
  model_search  = "{${local.metrics_namespace},Pipeline,ResourceType,Resource}"
  rows_search   = "{${local.metrics_namespace},Pipeline,Dataset}"
  reason_search = "{${local.metrics_namespace},Pipeline,Dataset,Reason}"
  phase_search  = "{${local.metrics_namespace},Pipeline,Phase}"

  dashboard_offline_metrics = ["normalized_discounted_cumulative_gain_at_10", "precision_at_10", "mean_reciprocal_rank_at_25", "coverage"]

  dashboard_body = jsonencode({
    widgets = [
      {
        type   = "metric"
        x      = 0
        y      = 0
        width  = 12
        height = 6
        properties = {
          title  = "Offline metrics of each new version"
          region = local.region
          view   = "timeSeries"
          period = 86400
          metrics = [
            for i, metric in local.dashboard_offline_metrics : [{
              id         = "offline${i}"
              expression = "SEARCH('${local.model_search} MetricName=\"${metric}\"', 'Maximum', 86400)"
              label      = metric
            }]
          ]
        }
      },
      {
        type   = "metric"
        x      = 12
        y      = 0
        width  = 12
        height = 6
        properties = {
          title  = "Quality gate: verdicts (1 passed, 0 rejected) and rejections"
          region = local.region
          view   = "timeSeries"
          period = 86400
          metrics = [
            [{ id = "verdicts", expression = "SEARCH('${local.model_search} MetricName=\"GateVerdict\"', 'Minimum', 86400)", label = "verdict" }],
            [local.metrics_namespace, "GateRejections", { stat = "Sum", label = "rejections" }],
          ]
        }
      },
      {
        type   = "metric"
        x      = 0
        y      = 6
        width  = 12
        height = 6
        properties = {
          title  = "The last runs"
          region = local.region
          view   = "bar"
          period = 86400
          stat   = "Sum"
          metrics = [
            ["AWS/States", "ExecutionsSucceeded", "StateMachineArn", local.state_machine_arn],
            ["AWS/States", "ExecutionsFailed", "StateMachineArn", local.state_machine_arn],
            ["AWS/States", "ExecutionsAborted", "StateMachineArn", local.state_machine_arn],
            ["AWS/States", "ExecutionsTimedOut", "StateMachineArn", local.state_machine_arn],
          ]
        }
      },
      {
        type   = "log"
        x      = 12
        y      = 6
        width  = 12
        height = 6
        properties = {
          title  = "The last runs' metrics (Finalize)"
          region = local.region
          view   = "table"
          query  = "SOURCE '/aws/lambda/${var.name}-finalize' | fields @timestamp, correlation_id as execution, message, published, detail | filter message like /metrics/ | sort @timestamp desc | limit 20"
        }
      },
      {
        type   = "metric"
        x      = 0
        y      = 12
        width  = 12
        height = 6
        properties = {
          title  = "Rows exported, rejected and imported"
          region = local.region
          view   = "timeSeries"
          period = 86400
          metrics = [
            for i, metric in ["RowsExported", "RowsRejected", "RowsImported"] : [{
              id         = "rows${i}"
              expression = "SEARCH('${local.rows_search} MetricName=\"${metric}\"', 'Maximum', 86400)"
              label      = metric
            }]
          ]
        }
      },
      {
        type   = "metric"
        x      = 12
        y      = 12
        width  = 12
        height = 6
        properties = {
          title   = "Rows rejected by reason"
          region  = local.region
          view    = "bar"
          stacked = true
          period  = 86400
          metrics = [
            [{ id = "reasons", expression = "SEARCH('${local.reason_search} MetricName=\"RowsRejectedByReason\"', 'Maximum', 86400)", label = "rejected" }],
          ]
        }
      },
      {
        type   = "metric"
        x      = 0
        y      = 18
        width  = 12
        height = 6
        properties = {
          title  = "Each phase's duration (seconds waited)"
          region = local.region
          view   = "timeSeries"
          period = 86400
          metrics = [
            [{ id = "phases", expression = "SEARCH('${local.phase_search} MetricName=\"PhaseDuration\"', 'Maximum', 86400)", label = "duration" }],
          ]
        }
      },
      {
        # Personalize's GetRecommendations metric supports Sum only; the TPS it
        # bills is the average of requests per second over 5 minutes.
        # https://docs.aws.amazon.com/personalize/latest/dg/cloudwatch-metrics.html
        # https://docs.aws.amazon.com/personalize/latest/dg/API_CreateCampaign.html
        type   = "metric"
        x      = 12
        y      = 18
        width  = 12
        height = 6
        properties = {
          title  = "Campaign TPS against minProvisionedTPS"
          region = local.region
          view   = "timeSeries"
          period = 300
          metrics = [
            [{ id = "requests", expression = "SEARCH('{AWS/Personalize,CampaignArn} MetricName=\"GetRecommendations\"', 'Sum', 300)", visible = false }],
            [{ id = "tps", expression = "requests / 300", label = "TPS" }],
            [{ id = "provisioned", expression = "SEARCH('${local.model_search} MetricName=\"MinProvisionedTPS\"', 'Maximum', 300)", label = "minProvisionedTPS" }],
          ]
        }
      },
    ]
  })
}

resource "aws_cloudwatch_dashboard" "this" {
  count = local.create_dashboard ? 1 : 0

  dashboard_name = "${var.name}-training"
  dashboard_body = local.dashboard_body
}
