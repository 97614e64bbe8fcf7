# The trainer: flmprep with the [train] extra. CPU torch by default; CUDA wheels with a build-arg:
#   docker build -f docker/trainer.Dockerfile -t flmprep-train .
#   docker build -f docker/trainer.Dockerfile --build-arg TORCH_VARIANT=cu126 -t flmprep-train:cu126 .
# (CUDA needs the NVIDIA container toolkit on the host: docker run --gpus all ...). Untested here.
FROM python:3.11-slim-bookworm

ARG TORCH_VERSION=2.13.0
# "cpu" or a CUDA tag of the PyTorch wheel index (cu126, cu128, ...).
ARG TORCH_VARIANT=cpu

RUN pip install --no-cache-dir "torch==${TORCH_VERSION}" \
      --index-url "https://download.pytorch.org/whl/${TORCH_VARIANT}"

WORKDIR /opt/flmprep
COPY setup.cfg pyproject.toml README.md ./
COPY pipeline ./pipeline
COPY schemas ./schemas
RUN pip install --no-cache-dir ".[train]" \
 && python -c "import flmprep, torch; print(flmprep.__version__, torch.__version__, torch.version.cuda)"

VOLUME ["/data"]
ENTRYPOINT ["flmprep"]
CMD ["train", "--help"]
