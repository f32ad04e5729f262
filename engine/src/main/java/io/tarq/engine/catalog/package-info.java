/**
 * Internal, not API: embedding, coding and adding catalog items without retraining; public for {@code tools}
 * ({@code encode-items} and the demo's large catalog).
 */
package io.tarq.engine.catalog;
