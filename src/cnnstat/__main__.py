from cnnstat.cli.main import run

run()
