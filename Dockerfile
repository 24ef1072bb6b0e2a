# syntax=docker/dockerfile:1
# The image a loclab job runs on SageMaker: Python 3.11, the project's locked dependencies,
# loclab, and the job entry point (python -m loclab.execution.entrypoint, root /opt/ml).
# Build and push it with docker/build-and-push.sh; docs/sagemaker.md explains the choices.
ARG PYTHON_VERSION=3.11
FROM python:${PYTHON_VERSION}-slim-bookworm

# torch is pinned like the Makefile pins it; its index picks the build:
#   CPU (default):        --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
#   GPU, CUDA 12.8 build: --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cu128
ARG TORCH_VERSION=2.13.0
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MPLBACKEND=Agg \
    TQDM_DISABLE=1

# git: provenance tags (the commit a job's code came from) work inside jobs too.
RUN apt-get update \
    && apt-get install -y --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/loclab
# torch first and explicitly: a dependency on an unpinned torch would otherwise pull another
# build (the multi-GB CUDA one into a CPU image).
RUN pip install "torch==${TORCH_VERSION}" --index-url "${TORCH_INDEX_URL}"

# The lock and the package metadata before the code: editing lib/ does not reinstall the
# dependencies layer.
COPY constraints.txt pyproject.toml README.md ./
COPY lib ./lib
RUN pip install -c constraints.txt . \
    && python -c "import loclab.execution.entrypoint, papermill, ipykernel, sagemaker_mlflow"

# SageMaker starts a container as `docker run <image> train` unless the request names an
# entry point (loclab's requests do: python -m loclab.execution.entrypoint). Both run the same.
COPY docker/train /usr/local/bin/train
RUN chmod 0755 /usr/local/bin/train

WORKDIR /opt/ml
CMD ["train"]
