// camels-gpu: the library entry (`import { tensor, grad, ... } from 'camels-gpu'`).
export * from './engine/index.js';
