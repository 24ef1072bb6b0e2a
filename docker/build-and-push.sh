#!/usr/bin/env bash
# Build the training image and push it to ECR in one region.
#
#   docker/build-and-push.sh REGION [TAG] [cpu|gpu]
#
# Prints the image_uri to put in loclab.yaml (sagemaker.image_uri) or $LOCLAB_SAGEMAKER_IMAGE_URI.
# Needs docker and the AWS CLI, with ecr:CreateRepository, ecr:DescribeRepositories,
# ecr:GetAuthorizationToken and the ecr push actions on the repository.
set -euo pipefail
cd "$(dirname "$0")/.."

region=${1:?usage: docker/build-and-push.sh REGION [TAG] [cpu|gpu]}
tag=${2:-$(git rev-parse --short HEAD)}
variant=${3:-cpu}
repository=${LOCLAB_ECR_REPOSITORY:-loclab}

case "$variant" in
  cpu) index=https://download.pytorch.org/whl/cpu ;;
  gpu) index=https://download.pytorch.org/whl/cu128 ;;
  *) echo "variant must be cpu or gpu, not $variant" >&2; exit 2 ;;
esac

account=$(aws sts get-caller-identity --query Account --output text)
registry="$account.dkr.ecr.$region.amazonaws.com"
image="$registry/$repository:$tag-$variant"

aws ecr describe-repositories --region "$region" --repository-names "$repository" >/dev/null 2>&1 \
  || aws ecr create-repository --region "$region" --repository-name "$repository" \
       --image-scanning-configuration scanOnPush=true >/dev/null
aws ecr get-login-password --region "$region" \
  | docker login --username AWS --password-stdin "$registry"

# SageMaker instances are x86_64: build for it even on an ARM laptop.
docker build --platform linux/amd64 --build-arg TORCH_INDEX_URL="$index" -t "$image" .
docker push "$image"
echo "image_uri: $image"
