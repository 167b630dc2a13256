import { describe, expect, it } from 'vitest';
import { answerTo, progressBar } from './bot.js';

describe('the bot', () => {
  it('draws a progress bar', () => {
    expect(progressBar(0, 2048)).toBe(`[${'-'.repeat(30)}]   0%  0.0/2.0 KiB`);
    expect(progressBar(1024, 2048)).toBe(`[${'#'.repeat(15)}${'-'.repeat(15)}]  50%  1.0/2.0 KiB`);
    expect(progressBar(2048, 2048)).toBe(`[${'#'.repeat(30)}] 100%  2.0/2.0 KiB`);
    expect(progressBar(0, 0)).toContain('100%');
  });

  it('answers chat', () => {
    expect(answerTo('ping', 'Ada')).toBe('pong');
    expect(answerTo('Hello there', 'Ada')).toContain('Hello Ada!');
    expect(answerTo('how are you', 'Ada')).toBe('Ada said "how are you" (11 characters)');
  });
});
