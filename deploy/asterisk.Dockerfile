# Asterisk 22 with French and English core sounds, configured from asterisk-conf/ (as scripts/asterisk does).
FROM debian:sid-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      asterisk asterisk-core-sounds-fr-gsm asterisk-core-sounds-fr asterisk-core-sounds-en-gsm \
      asterisk-moh-opsound-gsm espeak-ng sox gettext-base \
 && rm -rf /var/lib/apt/lists/*
# The music on hold in the lines' own codecs next to Debian's GSM (as scripts/asterisk install_moh): no GSM decode
# and alaw encode for every waiting citizen, 50 times a second.
RUN for f in /usr/share/asterisk/moh/*.gsm; do \
      sox -q "$f" -t al "${f%.gsm}.alaw" && sox -q "$f" -t ul "${f%.gsm}.ulaw"; \
    done
COPY asterisk-conf/ /opt/callcontrol/asterisk-conf/
COPY deploy/asterisk-entrypoint.sh /usr/local/bin/asterisk-entrypoint.sh
ENTRYPOINT ["/usr/local/bin/asterisk-entrypoint.sh"]
