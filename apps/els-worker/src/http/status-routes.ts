import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { BatchStatus, EssayStatus, StatusQueries } from '../coordination-port';
import type { HttpErrorBody } from './http-server';

const idParam = z
  .string()
  .min(1, { error: 'must not be empty' })
  .max(512, { error: 'must be at most 512 characters' })
  .regex(/^[^\s\p{Cc}]+$/u, { error: 'must not contain whitespace or control characters' });

const batchParams = z.object({ batch_id: idParam });
const essayParams = z.object({ essay_id: idParam });

const badRequest = (message: string): HttpErrorBody => ({ error: { code: 'ELS_ERR_BAD_REQUEST', message } });
const notFound = (message: string): HttpErrorBody => ({ error: { code: 'ELS_ERR_NOT_FOUND', message } });

function essayBody(essay: EssayStatus) {
  return {
    essay_id: essay.essayId,
    batch_id: essay.batchId,
    status: essay.status,
    text_storage_id: essay.textStorageId,
    file_upload_id: essay.fileUploadId,
    updated_at: essay.updatedAt,
  };
}

function batchBody(batch: BatchStatus) {
  return {
    batch_id: batch.batchId,
    course_code: batch.courseCode,
    expected_count: batch.expectedCount,
    assigned_count: batch.assignedCount,
    failed_count: batch.failedCount,
    free_count: batch.freeCount,
    resolved_count: batch.resolvedCount,
    excess_count: batch.excessCount,
    completed: batch.completedAt !== null,
    completed_at: batch.completedAt,
    created_at: batch.createdAt,
    essays: batch.essays.map(essayBody),
  };
}

/** GET /v1/batches/:batch_id/status and GET /v1/essays/:essay_id/status (read-only, no locks). */
export function registerStatusRoutes(app: FastifyInstance, queries: StatusQueries): void {
  app.get('/v1/batches/:batch_id/status', async (request, reply) => {
    const params = batchParams.safeParse(request.params);
    if (!params.success)
      return reply.code(400).send(badRequest(`batch_id ${params.error.issues[0]?.message}`));
    const batch = await queries.batchStatus(params.data.batch_id);
    if (!batch) return reply.code(404).send(notFound(`batch ${params.data.batch_id} is not registered`));
    return batchBody(batch);
  });

  app.get('/v1/essays/:essay_id/status', async (request, reply) => {
    const params = essayParams.safeParse(request.params);
    if (!params.success)
      return reply.code(400).send(badRequest(`essay_id ${params.error.issues[0]?.message}`));
    const essay = await queries.essayStatus(params.data.essay_id);
    if (!essay) return reply.code(404).send(notFound(`essay ${params.data.essay_id} is not registered`));
    return essayBody(essay);
  });
}
