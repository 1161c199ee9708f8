from hostmgr.cli import main

main()
