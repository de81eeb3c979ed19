################################################################################
# The shared packages of the jobs (glue/personalize_export, glue/export_spec), packed twice
################################################################################

locals {
  package_dir   = "${path.module}/../../glue/personalize_export"
  package_files = sort(tolist(fileset(local.package_dir, "**/*.py")))
  # The spec package the jobs import beside it (also bundled by the schema-drift Lambda).
  spec_package_dir   = "${path.module}/../../glue/export_spec"
  spec_package_files = sort(tolist(fileset(local.spec_package_dir, "**/*.py")))

  # Spark jobs take a plain zip on --extra-py-files; Python-shell jobs on
  # Python 3.9 only install wheels, so the same sources are also packed as one.
  package_version = "0.1.0"
  wheel_name      = "personalize_export-${local.package_version}-py3-none-any.whl"
  dist_info       = "personalize_export-${local.package_version}.dist-info"
  wheel_metadata = {
    "${local.dist_info}/METADATA" = "Metadata-Version: 2.1\nName: personalize-export\nVersion: ${local.package_version}\nSummary: Shared code of the ${var.name} export jobs\n"
    "${local.dist_info}/WHEEL"    = "Wheel-Version: 1.0\nGenerator: terraform\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    "${local.dist_info}/RECORD"   = join("", concat([for f in local.package_files : "personalize_export/${f},,\n"], [for f in local.spec_package_files : "export_spec/${f},,\n"], ["${local.dist_info}/METADATA,,\n", "${local.dist_info}/WHEEL,,\n", "${local.dist_info}/RECORD,,\n"]))
  }

  # Both archives hold every file of both packages; the wheel adds its metadata.
  packages = {
    zip   = { key = "packages/personalize_export.zip", metadata = {} }
    wheel = { key = "packages/${local.wheel_name}", metadata = local.wheel_metadata }
  }
}

data "archive_file" "package" {
  for_each = { for kind, package in local.packages : kind => package if local.create }

  type        = "zip"
  output_path = "${path.module}/build/${var.name}/${basename(each.value.key)}"

  dynamic "source" {
    for_each = local.package_files

    content {
      content  = file("${local.package_dir}/${source.value}")
      filename = "personalize_export/${source.value}"
    }
  }

  dynamic "source" {
    for_each = local.spec_package_files

    content {
      content  = file("${local.spec_package_dir}/${source.value}")
      filename = "export_spec/${source.value}"
    }
  }

  dynamic "source" {
    for_each = each.value.metadata

    content {
      content  = source.value
      filename = source.key
    }
  }
}

resource "aws_s3_object" "package" {
  for_each = data.archive_file.package

  bucket                 = aws_s3_bucket.this["artifacts"].id
  key                    = local.packages[each.key].key
  source                 = each.value.output_path
  source_hash            = each.value.output_md5
  content_type           = "application/zip"
  server_side_encryption = "aws:kms"
  kms_key_id             = var.kms_key_arn

  tags = var.tags
}
