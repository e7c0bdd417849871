# The massage-glove firmware package (board config, sampler, wire codec, command loop).
