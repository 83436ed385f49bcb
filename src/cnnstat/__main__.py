from cnnstat.cli.main import console

console()
