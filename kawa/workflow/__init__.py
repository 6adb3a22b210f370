"""The workflow graph engine: compile a DSL graph once, then run it as a stream of typed events.

graph = compile_graph(dsl["workflow"]["graph"])
engine = WorkflowEngine(graph, services=NodeServices(...), limits=EngineLimits())
async for event in engine.run(inputs, system, environment, secret_env_names, conversation, stop):
    ...
"""
