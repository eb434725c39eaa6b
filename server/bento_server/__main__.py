from bento_server.cli import main

main()
