# Asterisk 22 with French and English core sounds, configured from asterisk-conf/ (as scripts/asterisk does).
FROM debian:sid-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      asterisk asterisk-core-sounds-fr-gsm asterisk-core-sounds-fr asterisk-core-sounds-en-gsm \
      asterisk-moh-opsound-gsm espeak-ng sox gettext-base \
 && rm -rf /var/lib/apt/lists/*
COPY asterisk-conf/ /opt/callcontrol/asterisk-conf/
COPY deploy/asterisk-entrypoint.sh /usr/local/bin/asterisk-entrypoint.sh
ENTRYPOINT ["/usr/local/bin/asterisk-entrypoint.sh"]
