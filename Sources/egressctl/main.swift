print("egressctl")
