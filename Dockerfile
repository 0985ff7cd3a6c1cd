# Herald under the real Azure Functions host, for on-premises or Kubernetes.
# Build: docker build -t herald .      Run: see docs/deploy.md ("Running the container").
# The image already sets FUNCTIONS_WORKER_RUNTIME=python and serves HTTP on port 80.
FROM mcr.microsoft.com/azure-functions/python:4-python3.11

ENV AzureWebJobsScriptRoot=/home/site/wwwroot \
    AzureFunctionsJobHost__Logging__Console__IsEnabled=true \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

# Dependencies first, so that a code change does not reinstall them.
COPY requirements.txt /tmp/requirements.txt
RUN pip install -r /tmp/requirements.txt && rm /tmp/requirements.txt

# The app: host.json, the function folders and shared/ (.dockerignore keeps the rest out).
COPY . /home/site/wwwroot

# GET /health is anonymous and answers 200 when the app and its storage are up. (Kubernetes
# ignores HEALTHCHECK: give the pod an httpGet probe on the same path instead.)
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:80/health', timeout=4)"
