from telemetron.cli import app

app()
