# The platform every pipeline shares: names, the image the functions run, the image repository,
# the buckets, the landing topic and its fan-out, the alarm topic and the audit trail. The key is
# in kms.tf; each pipeline has its own file (reports.tf, file_registry.tf, table_loader.tf,
# customer_feed.tf, transactions.tf).

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  # Every name derives from the prefix (an account may only let the deploying principal create
  # resources whose names begin with its own name).
  name_prefix = coalesce(var.name_prefix, "${var.project}-${var.env}")
  account_id  = data.aws_caller_identity.current.account_id
  partition   = data.aws_partition.current.partition
  dns_suffix  = data.aws_partition.current.dns_suffix

  # Bucket names are global (anyone's account may hold "orders-pipeline-dev-input") and IAM
  # names are account-wide (the same env in two regions would collide): those carry the account
  # and region. Everything else is regional and keeps the plain prefix.
  bucket_prefix = "${local.name_prefix}-${local.account_id}-${var.region}"

  names = {
    ecr_repository      = local.name_prefix
    input_bucket        = "${local.bucket_prefix}-input"
    output_bucket       = "${local.bucket_prefix}-output"
    audit_bucket        = "${local.bucket_prefix}-audit"
    partner_feed_bucket = "${local.bucket_prefix}-partner-feed"
    landing_topic       = "${local.name_prefix}-landing"
    alarm_topic         = "${local.name_prefix}-alarms"
    audit_trail         = "${local.name_prefix}-audit"
    kms_alias           = "alias/${local.name_prefix}"
    glue_database       = replace(local.name_prefix, "-", "_")
    athena_wg           = local.name_prefix
    files_table         = "${local.name_prefix}-files"
    rows_table          = "${local.name_prefix}-rows"
    transactions_table  = "${local.name_prefix}-transactions"
    alerts_topic        = "${local.name_prefix}-alerts"
    state_machine       = "${local.name_prefix}-registry"
    state_machine_role  = "${local.name_prefix}-registry-sm-${var.region}"
  }

  # The consumers: each one's queue (DLQ <queue>-dlq) and function share the name; the role adds
  # the region.
  functions = {
    reports  = "${local.name_prefix}-reports"
    registry = "${local.name_prefix}-registry"
    loader   = "${local.name_prefix}-loader"
    # Its queue is <prefix>-feed (customer_feed.tf): <prefix>-customer-feed is its output queue.
    customer_feed = "${local.name_prefix}-customer-feed"
    # Its queue is fed by producers directly, not by the landing topic (transactions.tf).
    transactions = "${local.name_prefix}-transactions"
  }
  function_roles = { for k, name in local.functions : k => "${name}-${var.region}" }

  # ARNs known before anything exists (the ECR and KMS policies name them).
  function_arns   = { for k, name in local.functions : k => "arn:${local.partition}:lambda:${var.region}:${local.account_id}:function:${name}" }
  landing_topic   = "arn:${local.partition}:sns:${var.region}:${local.account_id}:${local.names.landing_topic}"
  alarm_topic     = "arn:${local.partition}:sns:${var.region}:${local.account_id}:${local.names.alarm_topic}"
  audit_trail_arn = "arn:${local.partition}:cloudtrail:${var.region}:${local.account_id}:trail/${local.names.audit_trail}"

  # Buckets whose every created object lands on the landing topic.
  landing_bucket_arns = [
    "arn:${local.partition}:s3:::${local.names.input_bucket}",
    "arn:${local.partition}:s3:::${local.names.partner_feed_bucket}",
  ]

  # The environment every function gets (Powertools): the service dimension of its EMF metrics
  # is unique per stack and function, so an alarm of one environment never counts another's.
  telemetry = {
    for k, name in local.functions : k => {
      POWERTOOLS_SERVICE_NAME      = name
      POWERTOOLS_METRICS_NAMESPACE = var.metrics_namespace
      POWERTOOLS_LOG_LEVEL         = var.log_level
    }
  }

  # Calls made through these services, for kms:ViaService conditions.
  via = {
    s3       = "s3.${var.region}.${local.dns_suffix}"
    dynamodb = "dynamodb.${var.region}.${local.dns_suffix}"
    sqs      = "sqs.${var.region}.${local.dns_suffix}"
    sns      = "sns.${var.region}.${local.dns_suffix}"
  }

  # Custom-metric alarms, by alarm name (each pipeline file adds its own).
  metric_alarms = merge(
    local.reports_metric_alarms, local.registry_metric_alarms, local.loader_metric_alarms, local.feed_metric_alarms,
    local.transactions_metric_alarms,
  )
}

# --- the image the functions run ---------------------------------------------------------------
# image_uri or image_digest names it (one image, every function). Without either, each function
# keeps the image it already runs (read from the function), so a plain `terraform plan` is a
# drift check at every stage; a function that does not exist yet is not created (deploy.sh's
# first apply, a half-deployed stack that destroy.sh must still tear down, or a stack that
# predates that function: the next deploy, which passes the image, creates it).

data "aws_lambda_functions" "all" {
  count = var.image_uri == null && var.image_digest == null ? 1 : 0
}

locals {
  deployed_function_names = toset(try(data.aws_lambda_functions.all[0].function_names, []))
  function_deployed       = { for k, name in local.functions : k => contains(local.deployed_function_names, name) }
}

data "aws_lambda_function" "deployed" {
  for_each = { for k, name in local.functions : k => name if local.function_deployed[k] }

  function_name = each.value
}

locals {
  given_image = (
    var.image_uri != null ? var.image_uri :
    var.image_digest != null ? "${module.ecr.repository_url}@${var.image_digest}" :
    null
  )
  function_images = {
    for k in keys(local.functions) : k => (
      local.given_image != null ? local.given_image : try(data.aws_lambda_function.deployed[k].image_uri, null)
    )
  }
  function_enabled = {
    for k in keys(local.functions) : k => var.image_uri != null || var.image_digest != null || local.function_deployed[k]
  }
}

# --- image repository, buckets -----------------------------------------------------------------

module "ecr" {
  source = "../modules/ecr_repository"

  name                       = local.names.ecr_repository
  untagged_image_expiry_days = var.ecr_untagged_image_expiry_days
  kms_key_arn                = aws_kms_key.this.arn
  force_delete               = var.force_destroy
  lambda_function_arns       = [for k in sort(keys(local.function_arns)) : local.function_arns[k]]
}

module "input_bucket" {
  source = "../modules/s3_bucket"

  name                            = local.names.input_bucket
  kms_key_arn                     = aws_kms_key.this.arn
  force_destroy                   = var.force_destroy
  current_version_expiration_days = var.input_retention_days
}

# Partners' daily files (customers_, orders_, items_YYYYMMDD.csv): the input bucket's defaults.
module "partner_feed_bucket" {
  source = "../modules/s3_bucket"

  name                            = local.names.partner_feed_bucket
  kms_key_arn                     = aws_kms_key.this.arn
  force_destroy                   = var.force_destroy
  current_version_expiration_days = var.input_retention_days
}

module "output_bucket" {
  source = "../modules/s3_bucket"

  name          = local.names.output_bucket
  kms_key_arn   = aws_kms_key.this.arn
  force_destroy = var.force_destroy
  expiration_rules = [{
    id     = "expire-athena-results"
    prefix = local.athena_results
    days   = 30
  }]
}

# --- the landing topic: every created object of both buckets, to every consumer's queue -------

module "fanout" {
  source = "../modules/s3_sns_sqs_fanout"

  topic_name = local.names.landing_topic
  # The names as planned (the subscriptions' filter policies must be known at plan time); the
  # ARNs from the buckets, so the topic policy, and the notifications after it, wait for them.
  buckets = {
    input        = { name = local.names.input_bucket, arn = module.input_bucket.bucket_arn }
    partner_feed = { name = local.names.partner_feed_bucket, arn = module.partner_feed_bucket.bucket_arn }
  }
  events = ["s3:ObjectCreated:*"]
  # Every created object is published: each consumer decides what it takes (the reports function
  # takes .csv in any letter case and .csv.gz and logs why it ignores anything else).
  filter_suffix = null
  kms_key_arn   = aws_kms_key.this.arn
  # The queues carry their own policies (TLS only; SendMessage from this topic).
  create_queue_policies = false
  queues = {
    # Orders files: the input bucket's objects only.
    reports = { arn = module.reports.queue_arn, url = module.reports.queue_url, buckets = ["input"] }
    loader  = { arn = module.loader.queue_arn, url = module.loader.queue_url, buckets = ["input"] }
    # Every landed object is registered, partners' feed files too.
    registry = { arn = module.registry.queue_arn, url = module.registry.queue_url, buckets = ["input", "partner_feed"] }
    # Partners' feed files: the partner-feed bucket's objects only (the customer feed).
    feed = { arn = module.customer_feed.queue_arn, url = module.customer_feed.queue_url, buckets = ["partner_feed"] }
  }
}

# --- alarms and audit --------------------------------------------------------------------------

# The alarm topic and the alarms on the functions' own metrics. Each consumer's function and queue
# alarms are in modules/queue_consumer and notify the same topic.
module "alarms" {
  source = "../modules/alarms"

  topic_name     = local.names.alarm_topic
  alarm_email    = var.alarm_email
  function_names = []
  kms_key_arn    = aws_kms_key.this.arn
  metric_alarms  = local.metric_alarms
}

module "audit_trail" {
  source = "../modules/audit_trail"
  count  = var.audit_trail_enabled ? 1 : 0

  trail_name  = local.names.audit_trail
  bucket_name = local.names.audit_bucket
  kms_key_arn = aws_kms_key.this.arn
  data_event_bucket_arns = [
    module.input_bucket.bucket_arn, module.partner_feed_bucket.bucket_arn, module.output_bucket.bucket_arn,
  ]
  log_retention_days = var.audit_log_retention_days
  force_destroy      = var.force_destroy
}
