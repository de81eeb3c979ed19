"""Local execution of the training pipeline: the real state machine definition
run by moto's Step Functions interpreter, the real Lambda handlers, and a
stateful fake of Amazon Personalize on a simulated clock."""
