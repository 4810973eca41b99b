"""callcontrol: call control for a town hall's single public number, over Asterisk ARI."""
