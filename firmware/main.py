# Boot entry of the glove: start the firmware. Ctrl-C (0x03) from the host stops it and gives the REPL.
import glove.app

glove.app.main()
