print("panelsim")
