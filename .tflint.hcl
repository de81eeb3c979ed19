# tflint's bundled Terraform rules; the pre-commit hook runs it on modules/ and envs/.
plugin "terraform" {
  enabled = true
  preset  = "recommended"
}
