FROM python:3.11-slim
WORKDIR /opt/callcontrol
COPY pyproject.toml README.md ./
COPY callcontrol/ callcontrol/
RUN pip install --no-cache-dir .
USER nobody
ENTRYPOINT ["callcontrol", "--config", "/etc/callcontrol"]
CMD ["run"]
