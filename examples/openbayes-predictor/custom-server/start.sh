#!/bin/sh
# OpenBayes custom mode: tserve runs this instead of a predictor. Start your own server on $PORT, in the foreground.
exec node server.mjs
