locals {
  # The report tables: the columns of the report CSVs, in file order (header row skipped).
  reports = {
    most_profitable_region = [
      { name = "rank", type = "int", comment = "1 = most profitable; equal profit shares a rank" },
      { name = "region", type = "string", comment = "" },
      { name = "profit", type = "double", comment = "2 decimals" },
      { name = "revenue", type = "double", comment = "2 decimals" },
      { name = "orders", type = "bigint", comment = "distinct order_id" },
    ]
    top_ship_mode_by_category = [
      { name = "category", type = "string", comment = "" },
      { name = "ship_mode", type = "string", comment = "one row per tied mode" },
      { name = "orders", type = "bigint", comment = "distinct order_id" },
      { name = "share", type = "double", comment = "orders / orders of known ship mode in the category" },
    ]
    orders_by_category = [
      { name = "category", type = "string", comment = "" },
      { name = "sub_category", type = "string", comment = "" },
      { name = "orders", type = "bigint", comment = "distinct order_id" },
      { name = "line_items", type = "bigint", comment = "rows" },
    ]
  }
  bucket_url     = "s3://${var.bucket_name}"
  results_prefix = trim(var.results_prefix, "/")
}

resource "aws_glue_catalog_database" "this" {
  name        = var.database_name
  description = "Reports written by the orders pipeline to ${local.bucket_url}/<report>/dt=YYYY-MM-DD/."
}

resource "aws_glue_catalog_table" "report" {
  for_each = local.reports

  name          = each.key
  database_name = aws_glue_catalog_database.this.name
  description   = "Report ${each.key}, one CSV per source file per day."
  table_type    = "EXTERNAL_TABLE"

  parameters = {
    "EXTERNAL"               = "TRUE"
    "classification"         = "csv"
    "skip.header.line.count" = "1"
    # Partition projection: Athena computes the dt partitions, so no crawler and no
    # MSCK REPAIR TABLE are ever needed.
    "projection.enabled"          = "true"
    "projection.dt.type"          = "date"
    "projection.dt.format"        = "yyyy-MM-dd"
    "projection.dt.range"         = "${var.projection_start_date},NOW"
    "projection.dt.interval"      = "1"
    "projection.dt.interval.unit" = "DAYS"
    "storage.location.template"   = "${local.bucket_url}/${each.key}/dt=$${dt}/"
  }

  partition_keys {
    name    = "dt"
    type    = "string"
    comment = "UTC date of the upload event, yyyy-MM-dd"
  }

  storage_descriptor {
    location      = "${local.bucket_url}/${each.key}/"
    input_format  = "org.apache.hadoop.mapred.TextInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"

    ser_de_info {
      name = "csv"
      # OpenCSVSerde honours RFC 4180 quoting (a category may contain a comma).
      serialization_library = "org.apache.hadoop.hive.serde2.OpenCSVSerde"
      parameters = {
        "separatorChar" = ","
        "quoteChar"     = "\""
        "escapeChar"    = "\\"
      }
    }

    dynamic "columns" {
      for_each = each.value
      content {
        name    = columns.value.name
        type    = columns.value.type
        comment = columns.value.comment
      }
    }
  }
}

resource "aws_athena_workgroup" "this" {
  name          = var.workgroup_name
  description   = "Queries over the orders pipeline reports; results in ${local.bucket_url}/${local.results_prefix}/."
  force_destroy = true

  configuration {
    # Clients cannot override the result location or its encryption.
    enforce_workgroup_configuration    = true
    publish_cloudwatch_metrics_enabled = true
    bytes_scanned_cutoff_per_query     = var.bytes_scanned_cutoff_per_query

    result_configuration {
      output_location       = "${local.bucket_url}/${local.results_prefix}/"
      expected_bucket_owner = var.expected_bucket_owner

      encryption_configuration {
        encryption_option = var.kms_key_arn == null ? "SSE_S3" : "SSE_KMS"
        kms_key_arn       = var.kms_key_arn
      }
    }
  }

  tags = var.tags
}

resource "aws_athena_named_query" "profit_by_region_by_day" {
  name        = "${var.workgroup_name}-profit-by-region-by-day"
  description = "Profit per region per day over a date range (partition projection prunes the days)."
  workgroup   = aws_athena_workgroup.this.id
  database    = aws_glue_catalog_database.this.name
  query       = <<-SQL
    SELECT dt, region, SUM(profit) AS profit, SUM(revenue) AS revenue, SUM(orders) AS orders
    FROM most_profitable_region
    WHERE dt BETWEEN '2025-01-01' AND '2025-01-31'
    GROUP BY dt, region
    ORDER BY dt, profit DESC
  SQL
}
