output "database_name" {
  description = "Glue catalog database name."
  value       = aws_glue_catalog_database.this.name
}

output "table_names" {
  description = "One table per report."
  value       = sort([for t in aws_glue_catalog_table.report : t.name])
}

output "workgroup_name" {
  description = "Athena workgroup name."
  value       = aws_athena_workgroup.this.name
}

output "results_location" {
  description = "Where the workgroup writes query results."
  value       = "s3://${var.bucket_name}/${local.results_prefix}/"
}

output "named_query_id" {
  description = "Id of the saved example query."
  value       = aws_athena_named_query.profit_by_region_by_day.id
}
