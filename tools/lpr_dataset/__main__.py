from tools.lpr_dataset.generate import main

main()
