# kawa in a container: a build stage compiles the wheels (hnswlib is built from source), the runtime stage holds the
# virtualenv, node (javascript code nodes) and nothing else, and runs as an unprivileged user.
#
# Code-node confinement inside the container (kawa/sandbox/confine.py): seccomp, Landlock, rlimits and the runtimes'
# own guards need no capability and always apply. The namespace layers (own mount/network/IPC/UTS namespaces, an
# empty read-only root) are entered through a user namespace, which needs no added capability but does need the
# container's seccomp/AppArmor profile to allow unshare(CLONE_NEWUSER) and mount inside it — Docker's default profile
# refuses that, so deploy/compose.yml runs kawa with `seccomp=unconfined` and `apparmor=unconfined` and drops every
# capability instead (kawa applies its own seccomp filter to each code worker). Without that, kawa logs that the
# namespaces are unavailable and carries on with the unprivileged layers. Per-slot uids (KAWA_SANDBOX__SANDBOX_UID)
# apply only when kawa runs as root, which this image does not.

FROM python:3.11-slim-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY kawa ./kawa
RUN python -m venv /opt/kawa && /opt/kawa/bin/pip install --no-cache-dir '.[embedded]'

FROM python:3.11-slim-bookworm AS runtime
RUN apt-get update && apt-get install -y --no-install-recommends nodejs && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/kawa --create-home --shell /usr/sbin/nologin kawa
COPY --from=build /opt/kawa /opt/kawa
ENV PATH=/opt/kawa/bin:$PATH \
    KAWA_HOME=/var/lib/kawa \
    KAWA_HOST=0.0.0.0 \
    KAWA_PORT=5001 \
    PYTHONUNBUFFERED=1
USER 10001:10001
WORKDIR /var/lib/kawa
VOLUME ["/var/lib/kawa"]
EXPOSE 5001
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5001/healthz', timeout=2)"
# SIGTERM drains runs for up to KAWA_SHUTDOWN_GRACE_S: give the container at least that long to stop.
STOPSIGNAL SIGTERM
CMD ["kawa", "serve", "--workers", "2"]
