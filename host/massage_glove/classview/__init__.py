"""`massage-glove class`: the instructor's view of every trainee's LSL streams (see model.py)."""
