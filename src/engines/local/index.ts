// The embedded llama.cpp engine: real local inference behind an OpenAI-compatible server.
export { startLocalEngineServer, type LocalEngineServer, type LocalEngineServerOptions } from './server.ts';
export { createLocalEngineApp, engineView, type LocalEngineApp, type LocalEngineOptions } from './app.ts';
export { LocalDispatch } from './dispatch.ts';
export { ModelRegistry, type LocalModelConfig, type RegistryOptions } from './registry.ts';
export { LocalModelEngine, type EngineStats } from './engine.ts';
export { writeTinyLlama, encodeTinyLlama, type TinyModelOptions } from './tiny-model.ts';
export { localModelsFromArgs } from './model-args.ts';
