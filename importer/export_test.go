package importer

import "context"

// RunBatchForTest applies an import's items and its first batch of
// balances, then stops, as a crash between two batches would.
func RunBatchForTest(ctx context.Context, s *Service, communityID, id int64) error {
	if err := s.applyItems(ctx, communityID, id); err != nil {
		return err
	}
	_, err := s.applyBatch(ctx, communityID, id)
	return err
}
