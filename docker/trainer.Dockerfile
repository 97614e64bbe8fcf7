# The trainer: flmprep with the [train] extra, as a non-root user. CPU torch by default:
#   docker build -f docker/trainer.Dockerfile -t flmprep-train .
#   docker build -f docker/trainer.Dockerfile --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu126 -t flmprep-train:cu126 .
# An empty TORCH_INDEX takes pip's configured index (what `make images` passes on the project's
# machines, where the CPU wheel lies on disk). CUDA needs the NVIDIA container toolkit on the host
# (docker run --gpus all ...); only the CPU image is built and tested here.
FROM python:3.11-slim-bookworm

ARG TORCH_VERSION=2.13.0
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu

RUN pip install --no-cache-dir "torch==${TORCH_VERSION}" ${TORCH_INDEX:+--index-url "$TORCH_INDEX"} \
 && useradd --create-home --uid 1000 --shell /bin/bash flmprep \
 && mkdir -p /data && chown flmprep:flmprep /data

WORKDIR /opt/flmprep
COPY setup.cfg pyproject.toml README.md docker/constraints.txt ./
COPY pipeline ./pipeline
COPY schemas ./schemas
# Every dependency at the version the test suite passed with (docker/constraints.txt).
RUN pip install --no-cache-dir -c constraints.txt ".[train]" \
 && python -c "import flmprep, torch; print(flmprep.__version__, torch.__version__, torch.version.cuda)"

USER flmprep
VOLUME ["/data"]
ENTRYPOINT ["flmprep"]
CMD ["train", "--help"]
