#!/bin/sh
# Install our configuration with the secrets filled in, render the prompts, run Asterisk in the foreground.
set -eu
rm -rf /etc/asterisk && mkdir -p /etc/asterisk
cp /opt/callcontrol/asterisk-conf/*.conf /etc/asterisk/
sed -i "s|@ARI_PASSWORD@|${CALLCONTROL_ARI_PASSWORD:?set CALLCONTROL_ARI_PASSWORD}|" /etc/asterisk/ari.conf
sed -i "s|@AMI_PASSWORD@|${CALLCONTROL_AMI_PASSWORD:?set CALLCONTROL_AMI_PASSWORD}|" /etc/asterisk/manager.conf
sed -i "s|@AGENT_SIP_PASSWORD@|${CALLCONTROL_AGENT_SIP_PASSWORD:?set CALLCONTROL_AGENT_SIP_PASSWORD}|g" /etc/asterisk/pjsip.conf
for file in /opt/callcontrol/asterisk-conf/prompts/*.txt; do
    lang=$(basename "$file" .txt)
    dest="$(readlink -f /usr/share/asterisk/sounds/$lang)/callcontrol"
    mkdir -p "$dest"
    grep -v '^#' "$file" | while IFS='|' read -r name text; do
        [ -n "$name" ] || continue
        espeak-ng -v "$lang" -s 150 -w /tmp/p.wav "$text" && sox -q /tmp/p.wav -r 8000 -c 1 -b 16 "$dest/$name.wav"
    done
done
exec /usr/sbin/asterisk -f -n -q
