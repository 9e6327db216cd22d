"""Every stand-in the demo and the tests use: loopback OpenAI/Google servers, a toy LM, a toy MT model, fake runs."""
