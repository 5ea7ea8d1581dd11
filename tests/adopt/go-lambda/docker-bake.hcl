# What retry-docker-build.sh did, without the temporary build context:
# the shared modules arrive as named contexts.
variable "ECR_REPO" {
  default = "123456789012.dkr.ecr.us-east-1.amazonaws.com/finalize-with-error"
}

target "finalize" {
  context = "functions/finalize"
  contexts = {
    logger = "shared/logger"
    schema = "shared/schema"
  }
  target = "runtime"
  platforms = ["linux/arm64"]
  tags = ["${ECR_REPO}:latest"]
}
