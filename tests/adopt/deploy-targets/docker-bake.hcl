# The team's bake file: the architecture follows the deploy target,
# as scripts/docker-push.sh did from the Dockerfile's name.
variable "REGISTRY" {
  default = "123456789012.dkr.ecr.us-east-1.amazonaws.com/catalog"
}

variable "TAG" {
  default = "dev"
}

group "default" {
  targets = ["lambda", "eks", "apprunner"]
}

group "arm64" {
  targets = ["lambda", "eks"]
}

target "lambda" {
  context = "."
  dockerfile = "Dockerfile.lambda"
  platforms = ["linux/arm64"]
  tags = ["${REGISTRY}/lambda:${TAG}"]
  provenance = false
}

target "eks" {
  context = "."
  dockerfile = "Dockerfile.eks"
  platforms = ["linux/arm64"]
  tags = ["${REGISTRY}/eks:${TAG}"]
  cache-from = ["type=registry,ref=${REGISTRY}/eks:cache"]
  cache-to = ["type=registry,ref=${REGISTRY}/eks:cache,mode=max"]
}

target "apprunner" {
  context = "."
  dockerfile = "Dockerfile.apprunner"
  platforms = ["linux/amd64"]
  tags = ["${REGISTRY}/apprunner:${TAG}"]
  cache-from = ["type=registry,ref=${REGISTRY}/apprunner:cache"]
  cache-to = ["type=registry,ref=${REGISTRY}/apprunner:cache,mode=max"]
}
