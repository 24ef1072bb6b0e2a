from loclab.cli import main

main()
